#!/usr/bin/env bash
# Run every MediSync test (README command #2).
#
#   bash scripts/test.sh
#
#  1. scripts/setup.sh            toolchain, wasm target, cargo-leptos, npm deps
#  2. cargo test -p app -p server Rust unit + integration tests (SQLite and
#                                 PostgreSQL at 127.0.0.1:5432, user postgres)
#  3. scripts/build.sh            cargo leptos build --release --precompress --split
#  4. end-to-end: seed a throw-away SQLite DB, start the release server on a
#     free port, check every page's first-visit weight against its budget
#     (scripts/weight.mjs), run `node --test end2end/tests/` (playwright-core +
#     system Chromium) against it, stop the server.
#
# Exits non-zero if any step failed. Server log and screenshots are kept in
# end2end/artifacts/.
#
#   E2E_PORT=3107              first port to try for the e2e server
#   MEDISYNC_SKIP_CARGO_TEST=1 skip step 2
#   MEDISYNC_SKIP_BUILD=1      skip step 3 (reuse the existing release build)
#   MEDISYNC_SKIP_E2E=1        skip step 4
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  _c_blue=$'\033[1;34m' _c_green=$'\033[1;32m' _c_yellow=$'\033[1;33m'
  _c_red=$'\033[1;31m' _c_magenta=$'\033[1;35m' _c_off=$'\033[0m'
else
  _c_blue='' _c_green='' _c_yellow='' _c_red='' _c_magenta='' _c_off=''
fi
say() { printf '\n%s[test]%s %s\n' "$_c_blue" "$_c_off" "$*"; }
good() { printf '%s[test]%s %s\n' "$_c_green" "$_c_off" "$*"; }
bad() { printf '%s[test] FAILED:%s %s\n' "$_c_red" "$_c_off" "$*" >&2; }

say "checking the toolchain (scripts/setup.sh)"
# shellcheck source=scripts/setup.sh
source "$REPO/scripts/setup.sh"

BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/medisync"
ARTIFACTS="$REPO/end2end/artifacts"
FAILED=()
SERVER_PID=""
E2E_TMP=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
  if [ -n "$E2E_TMP" ] && [ -d "$E2E_TMP" ]; then
    rm -rf "$E2E_TMP"
  fi
  E2E_TMP=""
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# How long each step took, printed with the summary (the last lines CI shows).
TIMINGS=()
STEP_STARTED=$SECONDS
timed() {
  TIMINGS+=("$1 $((SECONDS - STEP_STARTED))s")
  STEP_STARTED=$SECONDS
}

summary() {
  echo
  printf '[test] time per step: %s (total %ss)\n' "${TIMINGS[*]}" "$SECONDS"
  if [ "${#FAILED[@]}" -eq 0 ]; then
    good "all test steps passed"
  else
    bad "${FAILED[*]}"
  fi
}

timed setup
# ------------------------------------------------ medication knowledge base ----
say "python3 scripts/check-kb.py (the medication knowledge base's rules)"
if python3 "$REPO/scripts/check-kb.py" "$REPO/app/src/prescribing/kb.json"; then
  good "knowledge base consistent"
else
  bad "scripts/check-kb.py"
  FAILED+=("knowledge-base")
fi

# ------------------------------------------------------------ cargo test ----
if [ "${MEDISYNC_SKIP_CARGO_TEST:-0}" = "1" ]; then
  say "MEDISYNC_SKIP_CARGO_TEST=1: skipping cargo test"
else
  say "cargo test -p app -p server --locked"
  if cargo test -p app -p server --locked; then
    good "cargo test passed"
  else
    bad "cargo test"
    FAILED+=("cargo-test")
  fi
fi
timed cargo-test

# ---------------------------------------------------------------- build ----
BUILD_OK=1
if [ "${MEDISYNC_SKIP_BUILD:-0}" = "1" ]; then
  say "MEDISYNC_SKIP_BUILD=1: skipping cargo leptos build"
else
  say "scripts/build.sh (cargo leptos build --release --precompress --split)"
  if bash "$REPO/scripts/build.sh"; then
    good "release build done"
  else
    bad "scripts/build.sh"
    FAILED+=("build")
    BUILD_OK=0
  fi
fi
timed build

# ------------------------------------------------------------------ e2e ----
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

http_status() {
  # Prints the HTTP status of GET $1 (000 when unreachable).
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(5000) })
      .then((r) => process.stdout.write(String(r.status)))
      .catch(() => process.stdout.write("000"))' "$1"
  fi
}

run_e2e() {
  if [ ! -x "$BIN" ]; then
    bad "server binary not found at $BIN"
    return 1
  fi
  mkdir -p "$ARTIFACTS"
  rm -f "$ARTIFACTS"/*.png "$ARTIFACTS"/server.log "$ARTIFACTS"/seed.log "$ARTIFACTS"/e2e-report.txt

  local port="${E2E_PORT:-3107}" tries=0
  while port_in_use "$port"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 50 ]; then
      bad "no free port found starting at ${E2E_PORT:-3107}"
      return 1
    fi
    port=$((port + 1))
  done

  E2E_TMP="$(mktemp -d "${TMPDIR:-/tmp}/medisync-e2e.XXXXXX")"
  export MEDISYNC_SERVER_SITE_ADDR="127.0.0.1:$port"
  export LEPTOS_SITE_ADDR="127.0.0.1:$port"
  export DATABASE_URL="sqlite://$E2E_TMP/e2e.db"
  export MEDISYNC_SERVER_BASE_DOMAIN="localhost"
  # Every e2e sign-in comes from 127.0.0.1; the per-IP limit has its own Rust test.
  export MEDISYNC_SESSION_RATE_LIMIT_PER_MINUTE=100000

  say "seeding the e2e database ($DATABASE_URL)"
  if ! NO_COLOR=1 "$BIN" seed-demo --if-empty >"$ARTIFACTS/seed.log" 2>&1; then
    cat "$ARTIFACTS/seed.log" >&2
    bad "medisync seed-demo --if-empty (log: end2end/artifacts/seed.log)"
    return 1
  fi

  say "starting the server on 127.0.0.1:$port (log: end2end/artifacts/server.log)"
  NO_COLOR=1 "$BIN" serve >"$ARTIFACTS/server.log" 2>&1 &
  SERVER_PID=$!

  local deadline=$((SECONDS + 60)) status="000"
  while :; do
    status="$(http_status "http://127.0.0.1:$port/healthz")"
    [ "$status" = "200" ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "----- server.log -----" >&2
      cat "$ARTIFACTS/server.log" >&2
      echo "----------------------" >&2
      bad "the server exited before answering /healthz"
      SERVER_PID=""
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "----- server.log -----" >&2
      cat "$ARTIFACTS/server.log" >&2
      echo "----------------------" >&2
      bad "GET http://127.0.0.1:$port/healthz did not answer 200 within 60 s (last status: $status)"
      return 1
    fi
    sleep 0.5
  done
  good "server is up (GET /healthz -> 200)"

  say "first-visit weight against the budget (node scripts/weight.mjs)"
  local rc=0
  if ! E2E_BASE_PORT="$port" E2E_BASE_DOMAIN="localhost" \
    node scripts/weight.mjs --json "$ARTIFACTS/weight.json"; then
    bad "a page is over its weight budget (docs/frontend.md)"
    FAILED+=("weight-budget")
    rc=1
  fi

  say "node --test end2end/tests/ (E2E_BASE_PORT=$port)"
  # E2E_BIN lets a test start its own short-lived server (e.g. a short idle timeout).
  E2E_BASE_PORT="$port" E2E_BASE_DOMAIN="localhost" E2E_BIN="$BIN" \
    node --test --test-concurrency=1 \
    --test-reporter=tap --test-reporter-destination=stdout \
    --test-reporter=spec --test-reporter-destination="$ARTIFACTS/e2e-report.txt" \
    end2end/tests/ || rc=$?

  cleanup
  if [ "$rc" -ne 0 ]; then
    echo "----- last 80 lines of end2end/artifacts/server.log -----" >&2
    tail -n 80 "$ARTIFACTS/server.log" >&2 || true
    echo "----------------------------------------------------------" >&2
  fi
  return "$rc"
}

if [ "${MEDISYNC_SKIP_E2E:-0}" = "1" ]; then
  say "MEDISYNC_SKIP_E2E=1: skipping end-to-end tests"
elif [ "$BUILD_OK" != "1" ]; then
  bad "skipping end-to-end tests because the build failed"
  FAILED+=("e2e(skipped)")
else
  if run_e2e; then
    good "end-to-end tests passed"
  else
    bad "end-to-end tests (server log: end2end/artifacts/server.log)"
    FAILED+=("e2e")
  fi
fi
timed e2e

summary
[ "${#FAILED[@]}" -eq 0 ]
