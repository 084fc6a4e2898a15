#!/usr/bin/env bash
# Roster's whole test suite: template checks, lint, unit tests, end-to-end tests and
# schemathesis against a local stack of its own (free ports), stopped again at the end.
# Exits non-zero on any failure.
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
source "$ROOT/infra/fuzz.sh"
cd "$ROOT"

ensure_debian_packages
ensure_venv stack
ensure_venv lint
ensure_venv fuzz
ensure_node_modules

export SAM_CLI_TELEMETRY=0
log "checking the templates (generated, cfn-lint, sam validate --lint, resources per stack)"
"$VENV/lint/bin/python" infra/template/build.py --check
"$VENV/lint/bin/cfn-lint" template.yaml stacks/*.yaml
for t in template.yaml stacks/*.yaml; do
  AWS_DEFAULT_REGION=us-east-1 "$VENV/lint/bin/sam" validate --lint --template-file "$t" >/dev/null
done
export AWS_DEFAULT_REGION=us-east-1
"$VENV/lint/bin/python" infra/template/count.py
# The layout scales: with 200 more routes every stack stays under the limit; stacks made too
# big for it fail the count.
fixture="$(mktemp -d)"
"$VENV/lint/bin/python" infra/template/build.py --extra-routes 200 --out "$fixture/scaled" >/dev/null
log "with 200 more routes:"
"$VENV/lint/bin/python" infra/template/count.py "$fixture/scaled"
"$VENV/lint/bin/python" infra/template/build.py --extra-routes 200 --max-functions 100 --out "$fixture/big" >/dev/null
if "$VENV/lint/bin/python" infra/template/count.py "$fixture/big" >/dev/null 2>&1; then
  log "count.py passed stacks of 100 functions (500 resources): it must fail them"; exit 1
fi
rm -rf "$fixture"
unset AWS_DEFAULT_REGION

log "formatting and lints"
cargo fmt --all -- --check
cargo clippy -q --workspace --all-targets -- -D warnings

log "building"
cargo build -q --workspace --all-targets

STATE="$ROOT/.stack/test"
trap stop_stack EXIT
start_stack "$STATE" "$(free_port)" "$(free_port)" "$(free_port)"
start_slapd "$STATE" "$(free_port)" "$(free_port)"
start_samba "$STATE"
start_api "$STATE" "$ROOT/target/debug/roster-local"

log "running the tests (stack logs in .stack/test/)"
# Arguments, if any, filter the tests by name (e.g. `bash infra/test.sh groups::`) and skip
# the fuzzer.
cargo test -q --workspace --no-fail-fast ${1:+-- "$@"}

if [ $# -eq 0 ]; then
  # The independent check: the API against its own OpenAPI document (issue 10).
  fuzz_api
fi
