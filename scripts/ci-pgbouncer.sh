#!/usr/bin/env bash
# Runs the test suite with the app behind PgBouncer in transaction mode, the way a deployment of
# many short-lived instances reaches PostgreSQL: every test's app and its own queries go through
# the pooler (TEST_DATABASE_URL), while databases are created, dropped and inspected directly
# (TEST_ADMIN_DATABASE_URL). Arguments go to vitest (e.g. test files to run).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${CI_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

# Debian puts it in /usr/sbin. Its package may also start a system PgBouncer (port 6432, its own
# config); this one has a port and a configuration of its own, so the two never meet.
PGBOUNCER="$(command -v pgbouncer || true)"
if [ -z "$PGBOUNCER" ] && [ -x /usr/sbin/pgbouncer ]; then PGBOUNCER=/usr/sbin/pgbouncer; fi
if [ -z "$PGBOUNCER" ]; then
  apt-get update && apt-get install -y pgbouncer
  PGBOUNCER=/usr/sbin/pgbouncer
fi

# Each test file clones its own database, so PgBouncer keeps one pool per file. A file may run two
# app instances of 10 connections whose transactions wait on each other's locks: 20 server
# connections per database, and as many files at once as the server's connections allow.
read -r MAX_CONNECTIONS RESERVED < <(node -e "
  const pg = require('pg');
  const c = new pg.Client({ connectionString: process.argv[1] });
  c.connect()
    .then(() => c.query(\"select current_setting('max_connections') as m, current_setting('superuser_reserved_connections') as r\"))
    .then(({ rows }) => { console.log(rows[0].m, rows[0].r); return c.end(); })
    .catch((err) => { console.error(err.message); process.exit(1); });
" "$PG_URL")
POOL_SIZE=20
# Headroom for what connects directly: the tests' admin and blocking clients, the template database.
BUDGET=$((MAX_CONNECTIONS - RESERVED - 20))
CPUS="$(node -p 'require("os").availableParallelism()')"
WORKERS=$((CPUS > 1 ? CPUS - 1 : 1))
if [ $((BUDGET / POOL_SIZE)) -lt "$WORKERS" ]; then WORKERS=$((BUDGET / POOL_SIZE)); fi
if [ "$WORKERS" -lt 1 ]; then
  echo "max_connections = $MAX_CONNECTIONS leaves no room for one test file's pool of $POOL_SIZE behind PgBouncer" >&2
  exit 1
fi

TARGET_HOST="$(node -p 'new URL(process.argv[1]).hostname' "$PG_URL")"
TARGET_PORT="$(node -p 'new URL(process.argv[1]).port || 5432' "$PG_URL")"
PORT="$(node -e "
  const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });
")"

DIR="$(mktemp -d)"
cleanup() {
  if [ -s "$DIR/pgbouncer.pid" ]; then kill "$(cat "$DIR/pgbouncer.pid")" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT

cat >"$DIR/pgbouncer.ini" <<EOF
[databases]
* = host=$TARGET_HOST port=$TARGET_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir = $DIR
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
default_pool_size = $POOL_SIZE
max_client_conn = 1000
EOF
echo '"postgres" ""' >"$DIR/userlist.txt"

# PgBouncer refuses to run as root.
if [ "$(id -u)" = 0 ]; then
  chown -R postgres: "$DIR"
  runuser -u postgres -- "$PGBOUNCER" -d "$DIR/pgbouncer.ini"
else
  "$PGBOUNCER" -d "$DIR/pgbouncer.ini"
fi

POOLED_URL="$(node -p 'const u = new URL(process.argv[1]); u.hostname = "127.0.0.1"; u.port = process.argv[2]; u.toString()' "$PG_URL" "$PORT")"
node -e "
  const pg = require('pg');
  const deadline = Date.now() + 10000;
  (async function wait() {
    const c = new pg.Client({ connectionString: process.argv[1] });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('select 1');
      await c.end();
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) { console.error('PgBouncer did not answer: ' + err.message); process.exit(1); }
      setTimeout(wait, 100);
    }
  })();
" "$POOLED_URL" || { cat "$DIR/pgbouncer.log" >&2; exit 1; }

echo "PgBouncer $("$PGBOUNCER" --version | head -n1 | cut -d' ' -f2) on port $PORT: transaction mode, $POOL_SIZE server connections per database, $WORKERS test files at once (max_connections = $MAX_CONNECTIONS)"
TEST_DATABASE_URL="$POOLED_URL" TEST_ADMIN_DATABASE_URL="$PG_URL" npm run test:run -- --maxWorkers="$WORKERS" "$@"
