#!/usr/bin/env bash
# Schemathesis against the local API's /openapi.json, authenticated with an owner's API key that
# holds every permission. Not yet part of test.sh: see issue 10's notes for what it still finds.
# Usage: bash infra/fuzz.sh [EXTRA SCHEMATHESIS ARGS]   (defaults: seed 1, 20 examples)
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
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

address="fuzz$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
curl -fsS -o /dev/null "$ROSTER_API_URL/v1/accounts" -H 'content-type: application/json' \
  -d "{\"web_address\":\"$address\",\"company_name\":\"Fuzz\",\"first_name\":\"F\",\"last_name\":\"Z\",\"email\":\"owner@$address.test\",\"password\":\"fuzzing passphrase 1\"}"
token=$(curl -fsS "$ROSTER_API_URL/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"web_address\":\"$address\",\"email\":\"owner@$address.test\",\"password\":\"fuzzing passphrase 1\"}" | json '["access_token"]')
scopes='["members_read","members_manage","invitations_manage","roles_read","roles_manage","groups_read","groups_manage","assignments_create","organizations_read","organizations_manage","users_read","users_manage","settings_read","settings_manage","audit_read","directory_manage","api_keys_manage"]'
key=$(curl -fsS "$ROSTER_API_URL/v1/api-keys" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"name\":\"fuzzer\",\"scopes\":$scopes}" | json '["secret"]')

log "schemathesis against $ROSTER_API_URL/openapi.json"
"$VENV/fuzz/bin/schemathesis" run "$ROSTER_API_URL/openapi.json" --checks all --seed 1 --max-examples 20 \
  --header "Authorization: Bearer $key" "$@"
