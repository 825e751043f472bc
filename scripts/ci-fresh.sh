#!/usr/bin/env bash
# Runs .ci/run the way CI does: a fresh clone of HEAD (no tests/out, dist/, node_modules or
# target/ from earlier runs), shared/ beside it, CI=true, no standard input. A working tree
# hides what a clean clone lacks; this found a harness that read logs before they existed.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${CI_FRESH_DIR:-$(mktemp -d /tmp/erp-ci-fresh-XXXXXX)}"
rm -rf "$dir/main"
mkdir -p "$dir"
git clone -q "$here" "$dir/main"
if [ -d "$here/../shared" ]; then rm -rf "$dir/shared"; cp -r "$here/../shared" "$dir/shared"; fi
echo "ci-fresh: $(git -C "$dir/main" log --oneline -1) in $dir/main"
cd "$dir/main"
start=$(date +%s)
status=0
CI=true bash .ci/run </dev/null || status=$?
echo "ci-fresh: exit $status after $(( $(date +%s) - start )) s (CI allows 5400 s)"
exit $status
