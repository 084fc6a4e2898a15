#!/usr/bin/env bash
# Directory-sync benchmark (issue 13): PEOPLE people (default 100,000) loaded into a slapd of
# its own with `slapadd -q`, synced through the API against the local stack, release build;
# prints wall time, LDAP pages, DynamoDB requests, writes and peak RSS per run, and the floor
# (bare paged search + bare BatchWriteItem of the same volume), timed in the same run.
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$ROOT"
ensure_debian_packages
ensure_venv stack
ensure_node_modules
cargo build -q --release -p roster-local --bins
STATE="$ROOT/.stack/bench-directory"
mkdir -p "$STATE"
PEOPLE="${1:-100000}"
"$ROOT/target/release/roster-bench-directory" --ldif "$PEOPLE" "$LDAP_BASE" > "$STATE/people.ldif"
trap stop_stack EXIT
start_stack "$STATE" "$(free_port)" "$(free_port)" "$(free_port)"
start_slapd "$STATE" "$(free_port)" "$(free_port)" "$STATE/people.ldif"
start_api "$STATE" "$ROOT/target/release/roster-local"
"$ROOT/target/release/roster-bench-directory" "$PEOPLE"
