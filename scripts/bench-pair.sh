#!/bin/bash
# Old (e4d245e, memo) and new (touches) benchmarks on the same 10M data set, back to back.
set -u
D=/tmp/tributary-statsbench-10000000
mv $D /tmp/statsbench-10M-new
cp -r /tmp/statsbench-10M-oldformat $D
cd /work/bench-old && TRIBUTARY_BENCH_SIZES=10000000 go test -timeout 60m -run '^$' -bench 'Dashboard|Breakdown' -benchtime 5x ./stats/ > /tmp/pair-old.log 2>&1
rm -rf $D; mv /tmp/statsbench-10M-new $D
cd /work/main && TRIBUTARY_BENCH_SIZES=10000000 go test -timeout 60m -run '^$' -bench 'Dashboard|Breakdown' -benchtime 5x ./stats/ > /tmp/pair-new.log 2>&1
uptime >> /tmp/pair-new.log
echo DONE >> /tmp/pair-new.log
