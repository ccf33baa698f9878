#!/usr/bin/env bash
# Refinement benchmark: `gvpie evolve -n N` alone, then its program refined by `gvpie refine` for R seconds, against
# evolve given the same total wall time (more shapes, `-n 1000 --seconds T+R`).
#
# Prints one Markdown table row per photo and refinement time; ratios are from the same run.
# Usage: bench/refine.sh [GVPIE] [N] [SIDE] [BACKEND] [REFINE_SECONDS...]
#        (defaults: target/release/gvpie 50 256 cpu 2 10)
set -euo pipefail
G=${1:-target/release/gvpie}
N=${2:-50}
SIDE=${3:-256}
BACKEND=${4:-cpu}
shift $(( $# < 4 ? $# : 4 ))
SECONDS_LIST=${*:-2 10}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
json() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }
echo "| photo | evolve -n $N: RMSE (s) | + refine R s: RMSE (total s) | ratio to evolve -n $N | evolve alone in the same total time: RMSE (shapes) | ratio refine / evolve alone |"
echo "| --- | --- | --- | --- | --- | --- |"
for photo in chelsea coffee; do
  img=test_data/images/$photo.png
  a=$("$G" evolve "$img" -n "$N" --resize "$SIDE" -o "$DIR/a.png" --program "$DIR/a.pxl" --json 2>/dev/null)
  ta=$(echo "$a" | json seconds); ra=$(echo "$a" | json rmse)
  for r in $SECONDS_LIST; do
    start=$(date +%s.%N)
    c=$("$G" refine "$DIR/a.pxl" "$img" -o "$DIR/c.pxl" --seconds "$r" --backend "$BACKEND" --json 2>/dev/null)
    tc=$(python3 -c "import time; print(round(time.time() - $start + $ta, 2))"); rc=$(echo "$c" | json rmse_after)
    d=$("$G" evolve "$img" -n 1000 --resize "$SIDE" --seconds "$tc" -o "$DIR/d.png" --json 2>/dev/null)
    rd=$(echo "$d" | json rmse); nd=$(echo "$d" | json shapes)
    python3 -c "print(f'| $photo, R = $r | {$ra:.5f} ({$ta:.2f}) | {$rc:.5f} ($tc) | {$rc/$ra:.3f} | {$rd:.5f} ($nd) | {$rc/$rd:.3f} |')"
  done
done
