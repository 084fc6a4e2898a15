#!/usr/bin/env bash
# DynamoDB requests per API call, counted by a proxy in front of the local DynamoDB.
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$ROOT"
ensure_debian_packages
ensure_venv stack
ensure_node_modules
cargo build -q -p roster-local --bins
trap stop_stack EXIT
start_stack "$ROOT/.stack/bench" "$(free_port)" "$(free_port)" "$(free_port)"
"$ROOT/target/debug/roster-requests" "$ROOT/target/debug/roster-local" "$@"
