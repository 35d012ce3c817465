#!/bin/bash
# Ingest pairs for docs/benchmarks.md (Memory): build /tmp/trib-old from the build before and /tmp/trib-new
# from this tree (go build -o /tmp/trib-new ./cmd/tributary), then run this script. Loopback only, 20 s each.
# One ingest run per binary: 20 s at full speed, 32 clients; then VmHWM, and the events stored once the
# writer has drained what it held (at most 60 s more), over the time from the first event to the drain.
# The load generator's own events/s counts what the server accepted, which includes what its buffer
# still holds when the run ends (up to 80,000 events), so it compares peaks at one load, not how fast
# a build stores.
metric() { curl -s -m 2 http://127.0.0.1:$1/metrics -H 'Authorization: Bearer bench-admin-token-0123456' | awk -v m="$2" '$1 == m {print $2}'; }
run() {
  bin=$1; port=$2; dir=/tmp/ingest-$port
  rm -rf $dir
  $bin serve --listen 127.0.0.1:$port --data-dir $dir --admin-token bench-admin-token-0123456 --trusted-proxies 127.0.0.1 > $dir.log 2>&1 &
  pid=$!
  sleep 3
  began=$(date +%s.%N)
  $bin loadgen --url http://127.0.0.1:$port --setup --admin-token bench-admin-token-0123456 --kinds event --xff --loop --rate 0 --concurrency 32 --duration 20s 2>&1 | tail -8
  # VmHWM 3 s after the run, as this script always read it; the drain is timed meanwhile.
  (sleep 3; echo "$bin VmHWM: $(grep VmHWM /proc/$pid/status)") &
  hwm=$!
  for i in $(seq 1 600); do
    held=$(metric $port tributary_ingest_buffer_events)
    [ "${held:-1}" = "0" ] && break
    sleep 0.1
  done
  drained=$(date +%s.%N)
  stored=$(metric $port tributary_ingest_stored_events)
  wait $hwm
  echo "$bin stored: $stored events in $(echo "$drained - $began" | bc) s = $(echo "$stored / ($drained - $began)" | bc)/s (held at the end: ${held:-?})"
  kill $pid; wait $pid 2>/dev/null
}
run /tmp/trib-old 18301
run /tmp/trib-new 18302
/tmp/trib-new loadgen --bare --kinds event --loop --rate 0 --concurrency 32 --duration 20s 2>&1 | tail -6
run /tmp/trib-new 18303
run /tmp/trib-old 18304
uptime
