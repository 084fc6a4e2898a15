# Roster's local stack: sourced by run.sh and test.sh. Installs what is missing, starts the AWS
# stand-ins on 127.0.0.1, and stops exactly the processes it started (by PID).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STACK_PIDS=()

source "$ROOT/infra/ldap/slapd.sh"
source "$ROOT/infra/ad/samba.sh"

log() { printf '\033[1m[roster]\033[0m %s\n' "$*" >&2; }

# Debian packages a fresh machine may lack (needs root or sudo).
ensure_debian_packages() {
  local missing=()
  command -v curl >/dev/null || missing+=(curl)
  command -v openssl >/dev/null || missing+=(openssl)
  [ -x /usr/sbin/slapd ] || missing+=(slapd)
  command -v ldapsearch >/dev/null || missing+=(ldap-utils)
  command -v samba-tool >/dev/null || missing+=(samba samba-ad-dc)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  # Installing samba starts the distribution's file-server daemons where systemd runs: the
  # suite runs a DC of its own, on loopback; those stay off.
  if [[ " ${missing[*]} " == *" samba "* ]] && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now smbd nmbd samba-ad-dc >/dev/null 2>&1 || true
  fi
}

# A virtualenv per requirements file, rebuilt only when the file changes.
ensure_venv() {
  local name="$1" req="$ROOT/infra/requirements-$1.txt" dir="$VENV/$1"
  local stamp; stamp="$(sha256sum "$req" | cut -c1-16)"
  if [ "$(cat "$dir/.stamp" 2>/dev/null)" != "$stamp" ]; then
    log "installing Python packages ($name) into $dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check -r "$req"
    echo "$stamp" > "$dir/.stamp"
  fi
}

ensure_node_modules() {
  if [ ! -x "$ROOT/infra/node_modules/.bin/aws-ses-v2-local" ]; then
    log "installing the SES v2 stand-in (npm)"
    (cd "$ROOT/infra" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for() {  # wait_for URL NAME PID
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then log "$2 exited during start; see its log"; return 1; fi
    sleep 0.2
  done
  log "$2 did not answer at $1"; return 1
}

stop_stack() {
  local pid
  for pid in "${STACK_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${STACK_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  STACK_PIDS=()
}

# start_stack STATE_DIR MOTO_PORT SES_PORT API_PORT: exports the environment the API and tests use.
start_stack() {
  local state="$1"
  mkdir -p "$state"
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$2"
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$2"
  export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$2"
  # Mail goes through a small proxy in front of the SES stand-in (tests switch it off per domain).
  local ses_proxy; ses_proxy="$(free_port)"
  export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$ses_proxy"
  export ROSTER_SES_PROXY_URL="http://127.0.0.1:$ses_proxy"
  export ROSTER_TABLE=roster
  export ROSTER_PUBLIC_URL="http://127.0.0.1:$4"
  export ROSTER_MAIL_FROM="no-reply@roster.test"
  export ROSTER_SIGNING_SECRET_ID="roster/signing-key"
  export ROSTER_EXPORT_BUCKET="roster-exports"
  export ROSTER_API_URL="http://127.0.0.1:$4"
  export ROSTER_MAILBOX_URL="http://127.0.0.1:$3"

  "$VENV/stack/bin/python" "$ROOT/infra/moto_server.py" 127.0.0.1 "$2" >"$state/moto.log" 2>&1 &
  STACK_PIDS+=($!)
  wait_for "http://127.0.0.1:$2/moto-api/" "moto (DynamoDB, Secrets Manager, S3)" "$!"
  node "$ROOT/infra/node_modules/aws-ses-v2-local/dist/cli.js" --host 127.0.0.1 --port "$3" >"$state/ses.log" 2>&1 &
  STACK_PIDS+=($!)
  wait_for "http://127.0.0.1:$3/store" "aws-ses-v2-local (SES v2)" "$!"
  python3 "$ROOT/infra/ses_proxy.py" "$ses_proxy" "http://127.0.0.1:$3" >"$state/ses-proxy.log" 2>&1 &
  STACK_PIDS+=($!)
  wait_for "http://127.0.0.1:$ses_proxy/store" "the SES proxy" "$!"
}

# start_api STATE_DIR BINARY [ARGS…]: the local API server, creating the table and secret first.
start_api() {
  local port="${ROSTER_API_URL##*:}"
  "$2" --init --port "$port" "${@:3}" >"$1/api.log" 2>&1 &
  STACK_PIDS+=($!)
  wait_for "$ROSTER_API_URL/openapi.json" "the Roster API" "$!"
}
