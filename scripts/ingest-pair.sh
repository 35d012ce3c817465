#!/bin/bash
# Ingest pairs for docs/benchmarks.md (Memory): build /tmp/trib-old from the build before and /tmp/trib-new
# from this tree (go build -o /tmp/trib-new ./cmd/tributary), then run this script. Loopback only, 20 s each.
# One ingest run per server binary, driven by /tmp/trib-new's load generator: 20 s at full speed, 32
# clients. The load generator's request rate counts what the server accepted, which includes what its
# buffer still holds when the run ends (up to 80,000 events), so it compares peaks at one load; its
# "stored" line (read from the server's /metrics once the buffer has drained) is the rate a build stores.
# VmHWM is read about 3 s after the run (23 s after the load generator starts, its setup included), as
# this script always read it, and again after the drain.
run() {
  bin=$1; port=$2; dir=/tmp/ingest-$port
  rm -rf $dir
  $bin serve --listen 127.0.0.1:$port --data-dir $dir --admin-token bench-admin-token-0123456 --trusted-proxies 127.0.0.1 > $dir.log 2>&1 &
  pid=$!
  sleep 3
  (sleep 23; echo "$bin VmHWM about 3 s after the run: $(grep VmHWM /proc/$pid/status)") &
  hwm=$!
  /tmp/trib-new loadgen --url http://127.0.0.1:$port --setup --admin-token bench-admin-token-0123456 --kinds event --xff --loop --rate 0 --concurrency 32 --duration 20s 2>&1 | tail -9
  wait $hwm
  echo "$bin VmHWM after the drain: $(grep VmHWM /proc/$pid/status)"
  kill $pid; wait $pid 2>/dev/null
}
run /tmp/trib-old 18301
run /tmp/trib-new 18302
/tmp/trib-new loadgen --bare --kinds event --loop --rate 0 --concurrency 32 --duration 20s 2>&1 | tail -6
run /tmp/trib-new 18303
run /tmp/trib-old 18304
uptime
