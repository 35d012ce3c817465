#!/bin/bash
# Times the dashboard through HTTP (issue 8) on a copy of the stats benchmarks' generated site:
#   TRIBUTARY_BENCH_SIZES=10000000 go test -run '^$' -bench Dashboard -benchtime 1x ./stats/   # makes the data set once
#   scripts/dashboard-http.sh [events]                                                          # default 10000000
# It serves the copy on loopback, waits for the background warm-up, creates the owner and an events:write
# key, and prints the server time of the first page, four more, and five pages each right after a
# purchase of a returning visitor sent through POST /api/v1/events. The server is stopped at the end.
set -euo pipefail
n=${1:-10000000}
src=${TMPDIR:-/tmp}/tributary-statsbench-$n
[ -f "$src/complete" ] || { echo "no data set at $src: run the stats benchmarks first (see above)" >&2; exit 1; }
work=$(mktemp -d)
port=18093
base=http://127.0.0.1:$port
admin=dashboard-http-admin-token
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$src" "$work/data"
go build -o "$work/tributary" ./cmd/tributary
"$work/tributary" serve --data-dir "$work/data" --listen 127.0.0.1:$port --admin-token $admin > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -q "stats warmed" "$work/log" && break; sleep 0.1; done
grep -E "tributary ready|stats warmed" "$work/log" | sed 's/^time=[^ ]* //'
jar=$work/jar
csrf=$(curl -s -c "$jar" -b "$jar" $base/setup | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//')
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$csrf" -d "email=owner@example.com&password=correct-horse-battery&password_confirm=correct-horse-battery" $base/setup
key=$(curl -s -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d '{"name":"dashboard-http","scopes":["events:write"]}' \
  $base/api/v1/sites/bench/api-keys | grep -o '"key":"[^"]*"' | sed 's/"key":"//;s/"$//')
page() { curl -s -o /dev/null -b "$jar" -w "%{http_code} %{time_total}s\n" $base/sites/bench; }
echo "first page:"; page
echo "next pages:"; for _ in 1 2 3 4; do page; done
echo "right after a purchase:"
for i in 1 2 3 4 5; do
  visitor=$(printf 'v%019d' $((1000 * i)))   # the generator's visitors are numbered
  curl -s -o /dev/null -w "purchase %{http_code}, page " -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"event_id\":\"dashboard-http-$i-$$\",\"event_name\":\"purchase\",\"event_type\":\"purchase\",\"visitor_id\":\"$visitor\",\"amount\":4900,\"currency\":\"USD\"}" \
    $base/api/v1/events
  page
done
