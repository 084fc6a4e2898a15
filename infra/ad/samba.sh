# The Active Directory stand-in: sourced by stack.sh. A throwaway Samba AD DC (Debian's samba,
# provisioned in seconds into the state folder) running only its LDAP service on 127.0.0.1,
# with a certificate of the test CA (subjectAltName 127.0.0.1, which rustls requires; Samba's
# own has none). Samba's LDAP ports are fixed (389, 636): one such DC per machine at a time.
# Simple binds need TLS on a real DC and do here too, except the suite's own fixture writes
# over plain LDAP (`ldap server require strong auth = no`, this throwaway DC only).

AD_REALM="AD.ROSTER.TEST"
AD_BASE="DC=ad,DC=roster,DC=test"
AD_ADMIN="CN=Administrator,CN=Users,$AD_BASE"

# start_samba STATE_DIR: exports ROSTER_TEST_AD_* for the tests.
start_samba() {
  local dir="$1/samba" sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if (exec 3<>/dev/tcp/127.0.0.1/636) 2>/dev/null; then
    log "port 636 on 127.0.0.1 is taken (another Samba test DC?): stop it first"; return 1
  fi
  make_test_ca "$1/tls"
  $sudo rm -rf "$dir" && mkdir -p "$dir"
  # Complex enough for AD's policy; new for every run.
  local password; password="Ad-$(python3 -c 'import secrets; print(secrets.token_hex(10))')-1"
  $sudo samba-tool domain provision --targetdir="$dir/dc" --realm="$AD_REALM" --domain=ROSTERAD \
    --server-role=dc --dns-backend=NONE --adminpass="$password" --host-ip=127.0.0.1 \
    --option="interfaces = 127.0.0.1" --option="bind interfaces only = yes" \
    --option="server services = ldap" >"$dir/provision.log" 2>&1 \
    || { log "samba-tool domain provision failed; see $dir/provision.log"; return 1; }
  # Samba wants its key readable by its user only.
  $sudo install -m 600 "$1/tls/server.key" "$dir/server.key"
  $sudo sed -i "/^\[global\]/a\\
	tls enabled = yes\\
	tls keyfile = $dir/server.key\\
	tls certfile = $1/tls/server.pem\\
	tls cafile = $1/tls/ca.pem\\
	ldap server require strong auth = no\\
	pid directory = $dir\\
	log file = $dir/log.%m\\
	prefork children = 1" "$dir/dc/etc/smb.conf"
  $sudo samba -i -s "$dir/dc/etc/smb.conf" >"$1/samba.log" 2>&1 &
  STACK_PIDS+=($!)
  local pid=$!
  for _ in $(seq 1 150); do
    if LDAPTLS_CACERT="$1/tls/ca.pem" ldapsearch -x -H ldaps://127.0.0.1:636 -D "$AD_ADMIN" -w "$password" \
        -b "$AD_BASE" -s base -LLL dn >/dev/null 2>&1; then
      export ROSTER_TEST_AD_URL="ldaps://127.0.0.1:636" ROSTER_TEST_AD_PLAIN_URL="ldap://127.0.0.1:389"
      export ROSTER_TEST_AD_BASE="$AD_BASE" ROSTER_TEST_AD_ADMIN="$AD_ADMIN"
      export ROSTER_TEST_AD_PASSWORD="$password" ROSTER_TEST_AD_CA="$1/tls/ca.pem"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { log "samba exited during start; see $1/samba.log"; return 1; }
    sleep 0.2
  done
  log "samba did not answer on 127.0.0.1:636"; return 1
}
