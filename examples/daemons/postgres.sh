#!/bin/sh
# PostgreSQL 15 in the foreground as the postgres user, data in ./daemons/pgdata (created on
# first start), listening on a Unix socket in that directory only, port 55432.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data="$here/pgdata"
bin=/usr/lib/postgresql/15/bin
as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups"
if [ ! -s "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  chown postgres:postgres "$data"
  chmod 700 "$data"
  $as_postgres "$bin/initdb" -D "$data" -A trust -U postgres >/dev/null
fi
exec $as_postgres "$bin/postgres" -D "$data" -p 55432 -k "$data" -c listen_addresses=
