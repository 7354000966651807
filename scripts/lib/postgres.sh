# shellcheck shell=bash
# A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temp dir, a free
# loopback port, trust auth on 127.0.0.1 only, stopped and removed by pg_stop.
# Usage: source scripts/lib/postgres.sh; pg_start; …; pg_stop
# Exports SCR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SCR_PG_DIR=""

_pg_as_owner() {
  # initdb refuses to run as root; run the server as the unprivileged postgres user.
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_start() {
  if [ -n "$SCR_PG_DIR" ]; then return 0; fi
  if [ ! -x "$PG_BIN/initdb" ]; then
    echo "PostgreSQL server binaries not found in $PG_BIN (scripts/setup installs them)" >&2
    return 1
  fi
  SCR_PG_DIR=$(mktemp -d /tmp/scr-pg.XXXXXX)
  chmod 755 "$SCR_PG_DIR"
  mkdir -p "$SCR_PG_DIR/data" "$SCR_PG_DIR/sock"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$SCR_PG_DIR"; fi
  local port
  port=$(_pg_free_port)
  _pg_as_owner "$PG_BIN/initdb" -D "$SCR_PG_DIR/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >"$SCR_PG_DIR/initdb.log" 2>&1 || {
    cat "$SCR_PG_DIR/initdb.log" >&2
    return 1
  }
  # Durability off: a test cluster is thrown away; this is not how production runs.
  _pg_as_owner "$PG_BIN/pg_ctl" -D "$SCR_PG_DIR/data" -l "$SCR_PG_DIR/server.log" -w -t 60 \
    -o "-p $port -k $SCR_PG_DIR/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || {
    cat "$SCR_PG_DIR/server.log" >&2
    return 1
  }
  export SCR_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL test cluster on 127.0.0.1:$port ($SCR_PG_DIR)"
}

pg_stop() {
  if [ -z "$SCR_PG_DIR" ]; then return 0; fi
  _pg_as_owner "$PG_BIN/pg_ctl" -D "$SCR_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$SCR_PG_DIR"
  SCR_PG_DIR=""
  unset SCR_TEST_POSTGRES_URL
}
