#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL: initdb in a temp dir, start on a free
# loopback port, export TELEBILL_TEST_DATABASE_URL, run the command, always stop and clean up.
set -euo pipefail

find_bin() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then echo "$PG_BIN"; return; fi
  local d
  for d in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
  return 1
}

if ! B=$(find_bin); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL binaries not found; installing Debian's postgresql package" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    B=$(find_bin)
  else
    echo "PostgreSQL binaries (initdb, pg_ctl) not found; set PG_BIN" >&2
    exit 1
  fi
fi

d=$(mktemp -d)
as_pg=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$d"
  as_pg=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cleanup() {
  "${as_pg[@]}" "$B/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$d"
}
trap cleanup EXIT INT TERM

"${as_pg[@]}" "$B/initdb" -D "$d/data" -A trust -U telebill -E UTF8 >/dev/null
"${as_pg[@]}" "$B/pg_ctl" -D "$d/data" -l "$d/log" -w start \
  -o "-k $d -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null

export TELEBILL_TEST_DATABASE_URL="postgresql+psycopg://telebill@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$B/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
