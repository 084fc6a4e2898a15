#!/usr/bin/env bash
# Cold-start benchmark: release builds of the Lambda bootstrap and an empty function, each
# started as a fresh process against a local Lambda Runtime API stand-in, timed from process
# start to response. Usage: bash infra/bench-coldstart.sh [RUNS]
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$ROOT"
ensure_debian_packages
ensure_venv stack
ensure_node_modules
log "building release binaries (bootstrap, hello) and the benchmark"
cargo build -q --release -p bootstrap -p hello
cargo build -q -p roster-local --bins
STATE="$ROOT/.stack/bench"
trap stop_stack EXIT
start_stack "$STATE" "$(free_port)" "$(free_port)" "$(free_port)"
start_api "$STATE" "$ROOT/target/debug/roster-local"
"$ROOT/target/debug/roster-coldstart" "$ROOT/target/release/bootstrap" "$ROOT/target/release/hello" "${1:-20}"
