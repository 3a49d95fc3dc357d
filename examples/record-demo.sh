#!/bin/sh
# Records examples/demo.events.jsonl from a real run of examples/demo.yaml: about 25 s in
# which flaky crashes, backs off and is given up, web turns sick and its check restarts it,
# and one SIGHUP reloads the (unchanged) config; then SIGINT stops it all.
# The run happens in a copy under /srv/demo so the recorded paths do not name this checkout.
#   npm run build && sh examples/record-demo.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=${DEMO_DIR:-/srv/demo}
rm -rf "$dest" && mkdir -p "$dest"
cp "$here/demo.yaml" "$here/web.js" "$here/flaky.js" "$here/health.js" "$dest/"
cd "$dest"
node "$here/../bin/procreg.js" run demo.yaml --log-format json > procreg.out &
pid=$!
sleep 14
kill -HUP "$pid"
sleep 11
kill -INT "$pid"
wait "$pid"
# The demo's log rotates every 8kB: its segments (named by first seq, zero-padded, so they sort)
# then the live one, concatenated, are one log — the rotation snapshots stay in it.
cat run/events.0*.jsonl run/events.jsonl > "$here/demo.events.jsonl"
node "$here/../bin/procreg.js" replay "$here/demo.events.jsonl" --check
