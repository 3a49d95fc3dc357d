#!/bin/sh
# Once, as root, before `procreg run examples/daemons.yaml`: the directories the services write
# to — ./state/nginx for nginx (run as www-data: its PID file and temporary files) and
# ./state/pgdata for PostgreSQL (run as postgres), with its cluster made by initdb as postgres.
# Nothing to do when run again. procreg itself only switches user: the services never need
# root, and neither does anything they write.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
state="$here/state"
initdb=/usr/lib/postgresql/15/bin/initdb
# Both users read their config from here: every directory above must let them in.
for user in www-data postgres; do
  if ! setpriv --reuid="$user" --regid="$user" --clear-groups test -x "$here"; then
    echo "prepare.sh: $user cannot enter $here (a directory above it is private, such as a home" >&2
    echo "directory of mode 0700): use a checkout others may enter, e.g. under /srv or /opt" >&2
    exit 1
  fi
done
install -d -m 0755 "$state"
install -d -o www-data -g www-data -m 0700 "$state/nginx"
install -d -o postgres -g postgres -m 0700 "$state/pgdata"
if [ ! -s "$state/pgdata/PG_VERSION" ]; then
  runuser -u postgres -- "$initdb" -D "$state/pgdata" -A trust -U postgres >/dev/null
fi
