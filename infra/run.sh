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
start_slapd "$ROOT/.stack/run" "${LDAP_PORT:-3890}" "${LDAPS_PORT:-6360}"
start_api "$ROOT/.stack/run" "$ROOT/target/debug/roster-local" --jobs-every 60

DEMO_PASSWORD="roster-demo-$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
curl -fsS -o /dev/null -X POST "$ROSTER_API_URL/v1/accounts" -H 'content-type: application/json' -d @- <<JSON
{"web_address":"demo","company_name":"Demo Support","first_name":"Dana","last_name":"Owner",
 "email":"owner@demo.roster.test","password":"$DEMO_PASSWORD","time_zone":"Europe/London"}
JSON

# A small demo directory (OpenLDAP) and a connection of the demo account to it, run once.
python3 - "$LDAP_BASE" > "$ROOT/.stack/run/demo.ldif" <<'PY'
import sys
base = sys.argv[1]
print(f"dn: ou=people,{base}\nobjectClass: organizationalUnit\nou: people\n")
for i, (given, sn) in enumerate([("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Edsger", "Dijkstra"),
                                  ("Barbara", "Liskov"), ("Donald", "Knuth"), ("Frances", "Allen"), ("Ken", "Thompson")]):
    uid = f"{given}.{sn}".lower()
    print(f"dn: uid={uid},ou=people,{base}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {given} {sn}\n"
          f"givenName: {given}\nsn: {sn}\nmail: {uid}@customer.demo.test\n")
PY
ldapadd -x -H "$ROSTER_TEST_LDAP_URL" -D "$ROSTER_TEST_LDAP_ADMIN" -w "$ROSTER_TEST_LDAP_PASSWORD" \
  -f "$ROOT/.stack/run/demo.ldif" >/dev/null
DEMO_TOKEN="$(curl -fsS "$ROSTER_API_URL/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"web_address\":\"demo\",\"email\":\"owner@demo.roster.test\",\"password\":\"$DEMO_PASSWORD\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
DIRECTORY_ID="$(curl -fsS "$ROSTER_API_URL/v1/directories" -H "authorization: Bearer $DEMO_TOKEN" \
  -H 'content-type: application/json' -d @- <<JSON | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
{"name":"Demo OpenLDAP","url":"$ROSTER_TEST_LDAP_URL","security":"plain","allow_insecure":true,
 "bind_dn":"$ROSTER_TEST_LDAP_ADMIN","bind_password":"$ROSTER_TEST_LDAP_PASSWORD",
 "base_dns":["ou=people,$LDAP_BASE"],"preset":"openldap","every_minutes":60}
JSON
)"
curl -fsS -o /dev/null -X POST "$ROSTER_API_URL/v1/directories/$DIRECTORY_ID/runs" -H "authorization: Bearer $DEMO_TOKEN"

cat <<TXT

  Roster is running.

  API            $ROSTER_API_URL            (OpenAPI: $ROSTER_API_URL/openapi.json)
  Mailbox        $ROSTER_MAILBOX_URL            (every email Roster sends)
  Directory      $ROSTER_TEST_LDAP_URL (OpenLDAP, base $LDAP_BASE; admin $ROSTER_TEST_LDAP_ADMIN,
                 password $ROSTER_TEST_LDAP_PASSWORD), ldaps on ${LDAPS_PORT:-6360} with the CA in .stack/run/tls/ca.pem
                 Connected as /v1/directories/$DIRECTORY_ID; its first run syncs 8 end users within a minute
                 (GET /v1/directories/$DIRECTORY_ID/runs, GET /v1/users?source=directory).
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
