#!/usr/bin/env bash
# Invitation-job benchmark (issue 11): a job of ROWS rows (default 10,000) against the local
# stack, release build; prints wall time, DynamoDB and SES requests, runner peak RSS and the
# floor (bare BatchWriteItem + SendBulkEmail of the same volume), timed in the same run.
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$ROOT"
ensure_debian_packages
ensure_venv stack
ensure_node_modules
cargo build -q --release -p roster-local --bins
trap stop_stack EXIT
start_stack "$ROOT/.stack/bench-invitations" "$(free_port)" "$(free_port)" "$(free_port)"
start_api "$ROOT/.stack/bench-invitations" "$ROOT/target/release/roster-local"
"$ROOT/target/release/roster-bench-invitations" "${1:-10000}"
