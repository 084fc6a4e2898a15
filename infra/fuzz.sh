#!/usr/bin/env bash
# Schemathesis against the local API's /openapi.json: every operation, all checks, a fixed seed
# and example count (CI), authenticated as an account's owner (member routes) and with an API
# key holding every scope (permission routes).
#   bash infra/fuzz.sh [SCHEMATHESIS ARGS]   starts its own stack (nightly: --max-examples 500)
#   source infra/fuzz.sh; fuzz_api          against the running stack (infra/test.sh does)
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

fuzz_api() {
  local address password="fuzzing passphrase 1" token logout_token key scopes status=0
  address="fuzz$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
  json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
  login() {
    curl -fsS "$ROSTER_API_URL/v1/auth/login" -H 'content-type: application/json' \
      -d "{\"web_address\":\"$address\",\"email\":\"owner@$address.test\",\"password\":\"$password\"}" | json '["access_token"]'
  }
  curl -fsS -o /dev/null "$ROSTER_API_URL/v1/accounts" -H 'content-type: application/json' \
    -d "{\"web_address\":\"$address\",\"company_name\":\"Fuzz\",\"first_name\":\"F\",\"last_name\":\"Z\",\"email\":\"owner@$address.test\",\"password\":\"$password\"}"
  token=$(login)
  # Logging out ends the session it is sent with: that run gets its own, made now (later the
  # fuzzer's wrong current passwords have the owner's logins locked out for a while).
  logout_token=$(login)
  scopes=$(curl -fsS "$ROSTER_API_URL/openapi.json" |
    python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["components"]["schemas"]["Permission"]["enum"]))')
  key=$(curl -fsS "$ROSTER_API_URL/v1/api-keys" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"name\":\"fuzzer\",\"scopes\":$scopes}" | json '["secret"]')

  local st=("$VENV/fuzz/bin/schemathesis" --config-file "$ROOT/infra/schemathesis.toml" run "$ROSTER_API_URL/openapi.json"
    --checks all --seed 1 --max-examples 20 --no-color)
  export ROSTER_FUZZ_HOOKS="$ROOT/infra/schemathesis_hooks.py"
  log "schemathesis against $ROSTER_API_URL/openapi.json"
  # Logging out ends the session the other operations use: it runs alone, with its own.
  ROSTER_FUZZ_MEMBER_TOKEN="$token" ROSTER_FUZZ_API_KEY="$key" \
    "${st[@]}" --exclude-operation-id auth-logout "$@" || status=$?
  ROSTER_FUZZ_MEMBER_TOKEN="$logout_token" ROSTER_FUZZ_API_KEY="$key" \
    "${st[@]}" --include-operation-id auth-logout "$@" || status=$?
  return $status
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  cd "$ROOT"
  ensure_debian_packages
  ensure_venv stack
  ensure_venv fuzz
  ensure_node_modules
  cargo build -q -p roster-local --bin roster-local
  STATE="$ROOT/.stack/fuzz"
  trap stop_stack EXIT
  start_stack "$STATE" "$(free_port)" "$(free_port)" "$(free_port)"
  start_api "$STATE" "$ROOT/target/debug/roster-local"
  fuzz_api "$@"
fi
