#!/bin/bash
# The 10M dashboard and breakdown benchmarks of the build before issue 21 (the attribution memo) and of
# this tree, on one data set, back to back (docs/benchmarks.md). OLD_TREE is a checkout of the build
# before (git worktree add /tmp/old e4d245e); its benchmark generates the data set when it is absent.
set -euo pipefail
OLD_TREE=${OLD_TREE:?a checkout of e4d245e, e.g. git worktree add /tmp/old e4d245e}
NEW_TREE=$(cd "$(dirname "$0")/.." && pwd)
D=${TMPDIR:-/tmp}/tributary-statsbench-10000000
SAVED=${TMPDIR:-/tmp}/statsbench-10M-oldformat
(cd "$OLD_TREE" && TRIBUTARY_BENCH_SIZES=10000000 go test -timeout 90m -run '^$' -bench 'Dashboard|Breakdown' -benchtime 5x ./stats/) | tee /tmp/pair-old.log
# This build migrates the data set (016: payment touches) as it opens it; keep the old format for reruns.
[ -d "$SAVED" ] || cp -r "$D" "$SAVED"
(cd "$NEW_TREE" && TRIBUTARY_BENCH_SIZES=10000000 go test -timeout 90m -run '^$' -bench 'Dashboard|Breakdown' -benchtime 5x ./stats/) | tee /tmp/pair-new.log
rm -rf "$D" && cp -r "$SAVED" "$D" # the next run starts from the old format again
uptime
