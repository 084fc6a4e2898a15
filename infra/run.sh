#!/usr/bin/env bash
# Start Roster locally: the local stack, the API on 127.0.0.1 and a demo account. Ctrl-C stops
# everything it started.
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
MOTO_PORT="${MOTO_PORT:-5010}" SES_PORT="${SES_PORT:-8005}" API_PORT="${API_PORT:-3000}"

ensure_debian_packages
ensure_venv stack
ensure_node_modules
log "building the local API server"
(cd "$ROOT" && cargo build -q -p roster-local --bin roster-local)

trap stop_stack EXIT
trap 'exit 130' INT TERM
start_stack "$ROOT/.stack/run" "$MOTO_PORT" "$SES_PORT" "$API_PORT"
start_api "$ROOT/.stack/run" "$ROOT/target/debug/roster-local" --jobs-every 60

DEMO_PASSWORD="roster-demo-$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
curl -fsS -o /dev/null -X POST "$ROSTER_API_URL/v1/accounts" -H 'content-type: application/json' -d @- <<JSON
{"web_address":"demo","company_name":"Demo Support","first_name":"Dana","last_name":"Owner",
 "email":"owner@demo.roster.test","password":"$DEMO_PASSWORD","time_zone":"Europe/London"}
JSON

cat <<TXT

  Roster is running.

  API            $ROSTER_API_URL            (OpenAPI: $ROSTER_API_URL/openapi.json)
  Mailbox        $ROSTER_MAILBOX_URL            (every email Roster sends)
  Demo login     web address: demo   email: owner@demo.roster.test   password: $DEMO_PASSWORD

  Try it:
    TOKEN=\$(curl -s $ROSTER_API_URL/v1/auth/login -H 'content-type: application/json' \\
      -d '{"web_address":"demo","email":"owner@demo.roster.test","password":"$DEMO_PASSWORD"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    curl -s $ROSTER_API_URL/v1/invitations -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' \\
      -d '{"email":"agent@demo.roster.test","first_name":"Alex","last_name":"Agent","role":"agent"}'
    # then open the mailbox and follow the link in the invitation

  The mailbox also holds the demo owner's confirmation email: until its link is followed the
  account can invite 20 people (SPEC §1).

  Logs in .stack/run/. Press Ctrl-C to stop.
TXT
wait
