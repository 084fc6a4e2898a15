# The OpenLDAP stand-in: sourced by stack.sh. An unprivileged throwaway slapd (Debian's) on free
# loopback ports, plain LDAP and LDAPS with a certificate of our own CA (subjectAltName
# 127.0.0.1, which rustls requires), syncprov for content sync, loaded with `slapadd -q`.

LDAP_BASE="dc=roster,dc=test"
LDAP_ADMIN="cn=admin,$LDAP_BASE"

# A CA and a server certificate for 127.0.0.1, made once per state folder.
make_test_ca() {  # make_test_ca DIR
  local dir="$1"
  [ -s "$dir/server.pem" ] && return 0
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Roster test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$dir/ext.cnf"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 3650 -extfile "$dir/ext.cnf" -out "$dir/server.pem" 2>/dev/null
  chmod 644 "$dir/server.key"
}

# start_slapd STATE_DIR PORT TLS_PORT [LDIF]: exports ROSTER_TEST_LDAP_* for the tests; LDIF
# (entries under $LDAP_BASE) is loaded with the base entry, before slapd starts.
start_slapd() {
  local dir="$1/slapd" port="$2" tls_port="$3"
  rm -rf "$dir" && mkdir -p "$dir/db"
  make_test_ca "$1/tls"
  local password; password="$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
  cat > "$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload syncprov
moduleload memberof
pidfile $dir/slapd.pid
TLSCACertificateFile $1/tls/ca.pem
TLSCertificateFile $1/tls/server.pem
TLSCertificateKeyFile $1/tls/server.key
sizelimit size.soft=500 size.hard=unlimited size.prtotal=unlimited
database mdb
maxsize 2147483648
suffix "$LDAP_BASE"
rootdn "$LDAP_ADMIN"
rootpw $password
directory $dir/db
index objectClass,entryUUID,entryCSN eq
overlay syncprov
syncprov-checkpoint 100 10
overlay memberof
memberof-refint TRUE
CONF
  printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: roster\no: Roster test\n' \
    "$LDAP_BASE" > "$dir/base.ldif"
  slapadd -q -f "$dir/slapd.conf" -l "$dir/base.ldif" >"$dir/slapadd.log" 2>&1
  if [ -n "${4:-}" ]; then
    slapadd -q -f "$dir/slapd.conf" -l "$4" >>"$dir/slapadd.log" 2>&1 \
      || { log "slapadd of $4 failed; see $dir/slapadd.log"; return 1; }
  fi
  slapd -f "$dir/slapd.conf" -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$tls_port/" -d 0 \
    >"$1/slapd.log" 2>&1 &
  STACK_PIDS+=($!)
  local pid=$!
  for _ in $(seq 1 100); do
    if ldapsearch -x -H "ldap://127.0.0.1:$port" -b "$LDAP_BASE" -s base -LLL dn >/dev/null 2>&1; then
      export ROSTER_TEST_LDAP_URL="ldap://127.0.0.1:$port"
      export ROSTER_TEST_LDAPS_URL="ldaps://127.0.0.1:$tls_port"
      export ROSTER_TEST_LDAP_BASE="$LDAP_BASE" ROSTER_TEST_LDAP_ADMIN="$LDAP_ADMIN"
      export ROSTER_TEST_LDAP_PASSWORD="$password" ROSTER_TEST_CA="$1/tls/ca.pem"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { log "slapd exited during start; see $1/slapd.log"; return 1; }
    sleep 0.1
  done
  log "slapd did not answer on port $port"; return 1
}
