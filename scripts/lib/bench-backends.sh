# Shared by the database benchmarks (scripts/bench-slots, scripts/bench-import):
# runs one `medisync` benchmark command against a throw-away database of each
# backend asked for. SQLite: a file in a temporary directory. PostgreSQL: a
# temporary database with the owner and application roles (row-level security
# on), dropped afterwards.
#
#   source scripts/lib/bench-backends.sh
#   bench_backends both bench-slots --runs 200
#
# MEDISYNC_BENCH_PG_URL: a PostgreSQL superuser URL (default
# postgres://postgres@127.0.0.1:5432/postgres).

bench_backends() {
  local which="$1"; shift
  local repo; repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  local target="${CARGO_TARGET_DIR:-$repo/target}"
  BENCH_BIN="$target/release/medisync"
  [ -x "$BENCH_BIN" ] || { echo "no release server at $BENCH_BIN: run bash scripts/build.sh" >&2; return 1; }
  BENCH_PG_ADMIN="${MEDISYNC_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  BENCH_WORK="$(mktemp -d "${TMPDIR:-/tmp}/medisync-bench.XXXXXX")"
  trap 'rm -rf "$BENCH_WORK"' EXIT
  case "$which" in
    sqlite|postgres) bench_one "$which" "$@" ;;
    both) bench_one sqlite "$@" && bench_one postgres "$@" ;;
    *) echo "--backend must be sqlite, postgres or both" >&2; return 2 ;;
  esac
}

bench_one() {
  local backend="$1"; shift
  local url owner_url="" db="medisync_bench_$$"
  if [ "$backend" = sqlite ]; then
    url="sqlite://$BENCH_WORK/bench.db"
    rm -f "$BENCH_WORK"/bench.db*
  else
    local host="${BENCH_PG_ADMIN#*://}"; host="${host#*@}"; host="${host%%/*}"
    "$BENCH_BIN" pg-roles --app-password 'bench-app-password-0123' \
      | sed 's/^CREATE ROLE \([a-z_]*\)/DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '"'"'\1'"'"') THEN CREATE ROLE \1/; s/;$/; END IF; END $$;/' \
      | psql -q "$BENCH_PG_ADMIN" >/dev/null
    psql -q "$BENCH_PG_ADMIN" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db OWNER medisync_owner" >/dev/null
    url="postgres://medisync_web:bench-app-password-0123@$host/$db"
    owner_url="postgres://medisync_owner@$host/$db"
  fi
  echo "## $backend"
  local status=0
  DATABASE_URL="$url" MEDISYNC_DATABASE_OWNER_URL="$owner_url" RUST_LOG=warn \
    MEDISYNC_STORAGE_PATH="$BENCH_WORK/files" \
    "$BENCH_BIN" "$@" || status=$?
  if [ "$backend" = postgres ]; then
    psql -q "$BENCH_PG_ADMIN" -c "DROP DATABASE IF EXISTS $db" >/dev/null || true
  fi
  return "$status"
}
