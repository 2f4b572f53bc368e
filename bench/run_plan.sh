#!/bin/sh
# run_plan.sh — bench_plan before and after, side by side in one run.
#
#   bench/run_plan.sh OLD_BENCH_PLAN NEW_BENCH_PLAN [SEGMENTS] [RUNS]
#
# OLD_BENCH_PLAN: bench_plan built from the commit before the change (e.g.
# git archive <commit> | tar -x -C /tmp/old, copy bench/bench_plan.c in,
# build the target bench_plan there). Both use the same tables (built once
# in $TMPDIR/bench_plan by whichever runs first), size by size, old first.
set -eu
old=$1 new=$2 sizes=${3:-100,1000,10000} runs=${4:-20}
work=${TMPDIR:-/tmp}/bench_plan
for n in $(echo "$sizes" | tr , ' '); do
    echo "### $n segments: before ($old)"
    "$old" --segments "$n" --runs "$runs" --work "$work" 2>/dev/null | grep '^| [0-9]'
    echo "### $n segments: after ($new)"
    "$new" --segments "$n" --runs "$runs" --work "$work" 2>/dev/null | grep '^| [0-9]'
done
