#!/usr/bin/env bash
# The Lambda artifact every function deploys: the one `bootstrap` binary, zipped, built the way
# `sam build` builds each function (BuildMethod: rust-cargolambda → `cargo lambda build
# --release`), here for x86_64 — the only Rust target this machine has. A release build (LTO,
# one codegen unit): minutes, so not part of the test command.
#
#   bash infra/build-lambda.sh          → target/lambda/bootstrap/bootstrap.zip, its size and time,
#                                         then `sam build` of every stack (.aws-sam/build)
#
# Deploying on arm64 (the template's default) builds the same with `--arm64` (sam build does it
# from the template's Architecture parameter), which needs the aarch64 Rust target installed.
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$ROOT"
ensure_venv build
ensure_venv lint
export PATH="$VENV/build/bin:$PATH" SAM_CLI_TELEMETRY=0
log "cargo lambda build --release --x86-64 --bin bootstrap --output-format zip"
started=$(date +%s)
cargo lambda build --release --x86-64 --bin bootstrap --output-format zip
took=$(( $(date +%s) - started ))
zip="target/lambda/bootstrap/bootstrap.zip"
[ -s "$zip" ] || { log "no $zip"; exit 1; }
rm -rf "target/lambda/check"
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.printdir(); z.extractall(sys.argv[2])' "$zip" "target/lambda/check"
chmod +x "target/lambda/check/bootstrap"
file "target/lambda/check/bootstrap" 2>/dev/null || true
# provided.al2023 has glibc 2.34: the binary must ask for nothing newer.
newest=$(objdump -T "target/lambda/check/bootstrap" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1)
log "newest glibc symbol version: $newest (provided.al2023 has 2.34)"
[ "$(printf '%s\nGLIBC_2.34\n' "$newest" | sort -V | tail -1)" = "GLIBC_2.34" ] || { log "needs a newer glibc"; exit 1; }
# The binary starts and knows its routes without AWS: an unknown handler is refused by name.
if _HANDLER=no-such-route "target/lambda/check/bootstrap" >/dev/null 2>"target/lambda/check/stderr"; then
  log "bootstrap started with an unknown handler"; exit 1
fi
grep -q "no-such-route" "target/lambda/check/stderr" || { cat "target/lambda/check/stderr"; exit 1; }
log "bootstrap.zip: $(stat -c %s "$zip") bytes zipped, $(stat -c %s target/lambda/check/bootstrap) bytes unzipped; built in ${took} s"

# And `sam build` itself, over the root and nested stacks, for the same architecture: one
# cargo-lambda build (already done: cargo has nothing left to do) copied to every function.
log "sam build --parameter-overrides Architecture=x86_64"
rm -rf .aws-sam/build
AWS_DEFAULT_REGION=us-east-1 "$VENV/lint/bin/sam" build --parameter-overrides Architecture=x86_64 >target/lambda/sam-build.log 2>&1 \
  || { tail -30 target/lambda/sam-build.log; exit 1; }
functions=$(grep -c "Type: AWS::Serverless::Function" stacks/*.yaml | awk -F: '{n += $2} END {print n}')
built=$(find .aws-sam/build -name bootstrap -type f | wc -l)
[ "$built" -eq "$functions" ] || { log "sam build made $built bootstraps for $functions functions"; exit 1; }
log "sam build: $built functions in $(ls -d .aws-sam/build/*Stack | wc -l) nested stacks, each with the bootstrap"
log "reproduce: bash infra/build-lambda.sh"
