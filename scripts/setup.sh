#!/usr/bin/env bash
# MediSync development/CI environment setup.
#
#   bash scripts/setup.sh        # install/check everything
#   source scripts/setup.sh      # same, and keep PATH etc. in your shell
#
# Idempotent and fast on a second run: every step is skipped when the tool is
# already present at the required version. Nothing here downloads binaries
# directly; everything comes from apt, rustup, crates.io (cargo install) or npm.
#
# Installs / checks:
#   * apt: chromium (e2e browser)                           -- only as root
#   * apt: poppler-utils (pdftotext, for the PDF tests)       -- only as root
#   * rustup target wasm32-unknown-unknown
#   * cargo-leptos 0.3.10 (its wasm splitter understands wasm-bindgen >= 0.2.128)
#   * wasm-bindgen-cli at the exact wasm-bindgen version in Cargo.lock
#   * npm ci when needed: tailwindcss v4 CLI and wasm-opt (npm `binaryen`),
#     both used by cargo-leptos from PATH, and playwright-core for the e2e tests
#   * .venv-fhir: PyPI fhir.resources 8.3.0, the FHIR export's independent validator
#
# Environment knobs:
#   MEDISYNC_SKIP_APT=1     never call apt-get (just report what is missing)
#   MEDISYNC_CARGO_TARGET_DIR  if set (and CARGO_TARGET_DIR is not), exported
#                           as CARGO_TARGET_DIR (cargo build cache outside the clone)

_medisync_setup_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Prepend a directory to PATH unless it is already there.
_medisync_path_prepend() {
  case ":${PATH}:" in
    *":$1:"*) ;;
    *) PATH="$1${PATH:+:${PATH}}" ;;
  esac
}

_medisync_setup_env() {
  _medisync_path_prepend "${CARGO_HOME:-$HOME/.cargo}/bin"
  # Must win over any global tailwindcss: cargo-leptos runs `tailwindcss` from PATH.
  _medisync_path_prepend "${_medisync_setup_repo}/node_modules/.bin"
  export PATH
  export MEDISYNC_REPO="${_medisync_setup_repo}"
  # The Python that has the FHIR validator (scripts/fhir_validate.py).
  export MEDISYNC_FHIR_PYTHON="${_medisync_setup_repo}/.venv-fhir/bin/python"
  # The server package is `server` but its binary is `medisync`; cargo-leptos
  # looks for target/<profile>/<package name> unless told the executable name
  # (same as `bin-exe-name = "medisync"` in [[workspace.metadata.leptos]]).
  export LEPTOS_BIN_EXE_NAME="${LEPTOS_BIN_EXE_NAME:-medisync}"
  # Optional cargo target cache outside the clone (used by CI).
  if [ -n "${MEDISYNC_CARGO_TARGET_DIR:-}" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
    export CARGO_TARGET_DIR="${MEDISYNC_CARGO_TARGET_DIR}"
  fi
}

_medisync_setup_main() {
  set -euo pipefail
  local repo="${_medisync_setup_repo}"
  cd "$repo"

  local LEPTOS_VERSION="0.3.10"
  local missing_apt=()

  local _c_blue='' _c_green='' _c_yellow='' _c_red='' _c_off=''
  if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    _c_blue=$'\033[1;34m' _c_green=$'\033[1;32m' _c_yellow=$'\033[1;33m'
    _c_red=$'\033[1;31m' _c_off=$'\033[0m'
  fi
  say() { printf '%s[setup]%s %s\n' "$_c_blue" "$_c_off" "$*"; }
  ok() { printf '%s[setup]%s %s\n' "$_c_green" "$_c_off" "$*"; }
  warn() { printf '%s[setup] WARNING:%s %s\n' "$_c_yellow" "$_c_off" "$*" >&2; }
  die() { printf '%s[setup] ERROR:%s %s\n' "$_c_red" "$_c_off" "$*" >&2; exit 1; }

  # ---------------------------------------------------------------- apt ----
  if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then
    ok "chromium: $(command -v chromium || echo /usr/bin/chromium)"
  else
    missing_apt+=(chromium)
  fi
  # The PDF tests read the text back out of the PDFs the server makes.
  if command -v pdftotext >/dev/null 2>&1; then
    ok "pdftotext: $(command -v pdftotext)"
  else
    missing_apt+=(poppler-utils)
  fi
  # ----------------------------------------------------- FHIR validator ----
  # The FHIR export's tests validate every resource with an independent
  # validator: PyPI fhir.resources (its R4B models), in a venv of the repo's own.
  local fhir_venv="$repo/.venv-fhir"
  if "$fhir_venv/bin/python" -c 'import fhir.resources, sys; sys.exit(fhir.resources.__version__ != "8.3.0")' 2>/dev/null; then
    ok "fhir.resources 8.3.0 (FHIR validator)"
  else
    say "installing the FHIR validator (PyPI fhir.resources 8.3.0) into .venv-fhir"
    command -v python3 >/dev/null 2>&1 || die "python3 not found (needed for the FHIR validator)"
    python3 -m venv "$fhir_venv"
    "$fhir_venv/bin/python" -m pip install --quiet --disable-pip-version-check 'fhir.resources==8.3.0'
  fi

  if [ "${#missing_apt[@]}" -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && [ "${MEDISYNC_SKIP_APT:-0}" != "1" ] && command -v apt-get >/dev/null 2>&1; then
      say "installing apt packages: ${missing_apt[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_apt[@]}"
      ok "apt packages installed: ${missing_apt[*]}"
    else
      warn "missing system packages: ${missing_apt[*]}"
      warn "install them with:  sudo apt-get install -y ${missing_apt[*]}"
    fi
  fi

  # --------------------------------------------------------------- rust ----
  command -v cargo >/dev/null 2>&1 || die "cargo not found; install Rust via rustup (https://rustup.rs)"
  command -v rustup >/dev/null 2>&1 || die "rustup not found; the wasm32 target is installed through rustup"
  # rust-toolchain.toml pins the toolchain; make sure it exists.
  if ! rustc --version >/dev/null 2>&1; then
    say "installing the toolchain pinned in rust-toolchain.toml"
    rustup toolchain install "$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)" --profile minimal -c rustfmt -c clippy
  fi
  if rustup target list --installed 2>/dev/null | grep -qx 'wasm32-unknown-unknown'; then
    ok "rust target wasm32-unknown-unknown ($(rustc --version))"
  else
    say "adding rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi

  # Build tools compile without their own fat LTO and single codegen unit:
  # on two cores that alone cost cargo-leptos several minutes of one core.
  # (Only for these installs: MediSync's own profiles are untouched.)
  quick_install() {
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install "$@"
  }

  # -------------------------------------------------------- cargo-leptos ----
  local have_leptos=""
  have_leptos="$(cargo leptos --version 2>/dev/null | awk '{print $NF}' || true)"
  if [ "$have_leptos" = "$LEPTOS_VERSION" ]; then
    ok "cargo-leptos $have_leptos"
  else
    say "installing cargo-leptos $LEPTOS_VERSION (found: ${have_leptos:-none}); this takes a while"
    quick_install cargo-leptos --version "$LEPTOS_VERSION" --locked
  fi

  # ---------------------------------------------------- wasm-bindgen-cli ----
  local want_wb=""
  want_wb="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/^version = "|"$/, ""); print; exit }' Cargo.lock)"
  [ -n "$want_wb" ] || die "could not find the wasm-bindgen version in Cargo.lock"
  local have_wb=""
  have_wb="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
  if [ "$have_wb" = "$want_wb" ]; then
    ok "wasm-bindgen-cli $have_wb"
  else
    say "installing wasm-bindgen-cli $want_wb to match Cargo.lock (found: ${have_wb:-none})"
    quick_install wasm-bindgen-cli --version "$want_wb"
  fi

  # ----------------------------------------------------------------- npm ----
  command -v npm >/dev/null 2>&1 || die "npm not found; install Node.js >= 20"
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
    || [ package.json -nt node_modules/.package-lock.json ]; then
    say "npm ci (tailwindcss, binaryen/wasm-opt, playwright-core)"
    npm ci --no-audit --no-fund
  else
    ok "node_modules up to date"
  fi
  [ -x node_modules/.bin/tailwindcss ] || die "node_modules/.bin/tailwindcss missing after npm ci"
  ok "tailwindcss: $(node_modules/.bin/tailwindcss --help 2>/dev/null | sed -n 's/^[^a-z]*\(tailwindcss v[0-9.]*\).*/\1/p' | head -n1)"
  # wasm-opt must be the npm `binaryen` one: Debian 12's binaryen 108 corrupts
  # the externref table wasm-bindgen 0.2.1xx emits (the page then fails with
  # "WebAssembly.Table.set(): Argument 1 is invalid for table" and never hydrates).
  [ -x node_modules/.bin/wasm-opt ] || die "node_modules/.bin/wasm-opt missing after npm ci (binaryen devDependency)"
  if [ "$(command -v wasm-opt)" != "$repo/node_modules/.bin/wasm-opt" ]; then
    die "wasm-opt on PATH is $(command -v wasm-opt), expected $repo/node_modules/.bin/wasm-opt"
  fi
  ok "wasm-opt: $(wasm-opt --version 2>/dev/null | head -n1) (npm binaryen)"
  ok "node $(node --version)"

  if [ "${#missing_apt[@]}" -gt 0 ] && ! { [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; }; then
    warn "setup finished, but system packages are still missing: ${missing_apt[*]}"
  else
    ok "environment ready"
  fi
}

_medisync_setup_env

if (return 0 2>/dev/null); then
  # Sourced: run in a subshell so `set -e` / `exit` cannot kill the caller's
  # shell, but keep the exported environment in the caller.
  if ( _medisync_setup_main ); then
    :
  else
    _medisync_setup_rc=$?
    printf '[setup] failed (exit %s)\n' "$_medisync_setup_rc" >&2
    return "$_medisync_setup_rc"
  fi
else
  set -euo pipefail
  _medisync_setup_main "$@"
fi
