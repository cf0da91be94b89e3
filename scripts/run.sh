#!/usr/bin/env bash
# Build and run MediSync locally (README command #1).
#
#   bash scripts/run.sh
#
# Installs/checks the toolchain (scripts/setup.sh), builds the release site
# with cargo-leptos, seeds the demo tenants into an empty database and serves
# http://127.0.0.1:3000 (try http://acme.localhost:3000/signin).
#
# Runtime configuration comes from ./Leptos.toml; MEDISYNC_* / DATABASE_URL
# environment variables override it (default DB: sqlite ./data/medisync.db).
#
#   MEDISYNC_SKIP_BUILD=1   reuse the existing release build
#   MEDISYNC_SKIP_SETUP=1   skip scripts/setup.sh (only PATH is set up)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  _c_blue=$'\033[1;34m' _c_green=$'\033[1;32m' _c_yellow=$'\033[1;33m'
  _c_red=$'\033[1;31m' _c_magenta=$'\033[1;35m' _c_off=$'\033[0m'
else
  _c_blue='' _c_green='' _c_yellow='' _c_red='' _c_magenta='' _c_off=''
fi
say() { printf '%s[run]%s %s\n' "$_c_blue" "$_c_off" "$*"; }
die() { printf '%s[run] ERROR:%s %s\n' "$_c_red" "$_c_off" "$*" >&2; exit 1; }

if [ "${MEDISYNC_SKIP_SETUP:-0}" = "1" ]; then
  export PATH="$REPO/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
  if [ -n "${MEDISYNC_CARGO_TARGET_DIR:-}" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
    export CARGO_TARGET_DIR="$MEDISYNC_CARGO_TARGET_DIR"
  fi
else
  say "checking the toolchain (scripts/setup.sh)"
  # shellcheck source=scripts/setup.sh
  source "$REPO/scripts/setup.sh"
fi

BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/medisync"

if [ "${MEDISYNC_SKIP_BUILD:-0}" = "1" ]; then
  say "MEDISYNC_SKIP_BUILD=1: skipping the build"
else
  say "building the release site (scripts/build.sh)"
  bash "$REPO/scripts/build.sh"
fi

[ -x "$BIN" ] || die "server binary not found at $BIN (build it with: bash scripts/build.sh)"
[ -d "$REPO/target/site" ] || die "site assets not found at target/site (build with: bash scripts/build.sh)"

mkdir -p data

say "seeding demo data if the database is empty"
"$BIN" seed-demo --if-empty

say "starting MediSync (Ctrl-C to stop)"
exec "$BIN" serve
