#!/bin/sh
# PostgreSQL 15 in the foreground; procreg runs this as the postgres user (`user: postgres`).
# The cluster is ./state/pgdata, made once by prepare.sh; it listens on a Unix socket in that
# directory only, port 55432.
set -eu
data="$(cd "$(dirname "$0")" && pwd)/state/pgdata"
if [ ! -s "$data/PG_VERSION" ]; then
  echo "postgres.sh: no cluster in $data: run $(dirname "$0")/prepare.sh once, as root" >&2
  exit 78 # EX_CONFIG: fatalExitCodes, not retried
fi
exec /usr/lib/postgresql/15/bin/postgres -D "$data" -p 55432 -k "$data" -c listen_addresses=
