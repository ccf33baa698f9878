#!/usr/bin/env bash
# Refinement benchmark: `gvpie evolve -n N` alone, then its program refined by `gvpie refine` for R seconds, against
# evolve given the same total wall time (more shapes, `-n 1000 --seconds T+R`).
#
# Prints one Markdown table row per photo and refinement time; ratios are from the same run.
# Usage: bench/refine.sh [GVPIE] [N] [SIDE] [BACKEND] [REFINE_SECONDS...]
#        (defaults: target/release/gvpie 50 256 cpu 2 10)
#
# Against purrmitive: bench/refine.sh purr [PHOTO.png...]   (default: test_data/images/{astronaut,chelsea,coffee}.png)
#   For each photo and each N in SHAPES (default 50): purrmitive at N and at 1.5 N shapes (`purr -m 1 -s 256 -j 2`),
#   `gvpie evolve -n N --no-refine` and `gvpie evolve -n N` (refinement, its defaults), one after another, RUNS times
#   (default 2) so that load on a shared machine hits all alike; purrmitive is not seeded, so its RMSE is the mean
#   of its runs. Every output is scored by `gvpie evolve TARGET --score OUT`. Prints one Markdown row per photo and
#   N: RMSEs, mean wall times, and the ratios gvpie / purrmitive. Photos not in the repository:
#   bench/extra_photos.sh DIR, then pass DIR/*.png. Env: GVPIE, PURR, THREADS (2), SHAPES, RUNS, SIDE (256).
set -euo pipefail
if [ "${1:-}" = purr ]; then
  shift
  GVPIE=${GVPIE:-target/release/gvpie}
  PURR=${PURR:-purr}
  THREADS=${THREADS:-2}
  RUNS=${RUNS:-2}
  SIDE=${SIDE:-256}
  PHOTOS=("${@:-test_data/images/astronaut.png test_data/images/chelsea.png test_data/images/coffee.png}")
  [ -x "$GVPIE" ] || { echo "build first: cargo build --release -p gvpie" >&2; exit 2; }
  command -v "$PURR" >/dev/null || { echo "install purr: cargo install purrmitive --features cli --locked" >&2; exit 2; }
  DIR=$(mktemp -d)
  trap 'rm -rf "$DIR"' EXIT
  now() { date +%s.%N; }
  # timed NAME CMD...: runs CMD, appends "NAME seconds" to $DIR/times
  timed() { local name=$1 t0 t1; shift; t0=$(now); "$@" >/dev/null 2>&1; t1=$(now); echo "$name $(echo "$t1 - $t0" | bc)" >> "$DIR/times"; }
  echo "| photo | N | purr N: RMSE (s) | purr 1.5 N: RMSE | gvpie --no-refine: RMSE (s) | gvpie (refined): RMSE (s) | refined / purr N: RMSE, time | refined / purr 1.5 N: RMSE |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for photo in ${PHOTOS[@]}; do
    for n in ${SHAPES:-50}; do
      m=$(( n * 3 / 2 ))
      : > "$DIR/times"; : > "$DIR/scores"
      for run in $(seq "$RUNS"); do
        timed purr "$PURR" -i "$photo" -o "$DIR/purr.png" -n "$n" -m 1 -s "$SIDE" -j "$THREADS"
        echo "purr $("$GVPIE" evolve "$photo" --resize "$SIDE" --score "$DIR/purr.png")" >> "$DIR/scores"
        timed alone "$GVPIE" evolve "$photo" -n "$n" --resize "$SIDE" -j "$THREADS" --no-refine -o "$DIR/alone.png"
        echo "alone $("$GVPIE" evolve "$photo" --resize "$SIDE" --score "$DIR/alone.png")" >> "$DIR/scores"
        timed refined "$GVPIE" evolve "$photo" -n "$n" --resize "$SIDE" -j "$THREADS" -o "$DIR/refined.png"
        echo "refined $("$GVPIE" evolve "$photo" --resize "$SIDE" --score "$DIR/refined.png")" >> "$DIR/scores"
        timed purr15 "$PURR" -i "$photo" -o "$DIR/purr15.png" -n "$m" -m 1 -s "$SIDE" -j "$THREADS"
        echo "purr15 $("$GVPIE" evolve "$photo" --resize "$SIDE" --score "$DIR/purr15.png")" >> "$DIR/scores"
      done
      python3 - "$DIR" "$(basename "$photo" .png)" "$n" <<'PY'
import collections, sys
d, photo, n = sys.argv[1:4]
def mean(path):
    acc = collections.defaultdict(list)
    for line in open(f"{d}/{path}"):
        key, value = line.split()
        acc[key].append(float(value))
    return {k: sum(v) / len(v) for k, v in acc.items()}
t, r = mean("times"), mean("scores")
print(f"| {photo} | {n} | {r['purr']:.5f} ({t['purr']:.2f}) | {r['purr15']:.5f} | {r['alone']:.5f} ({t['alone']:.2f}) "
      f"| {r['refined']:.5f} ({t['refined']:.2f}) | {r['refined'] / r['purr']:.3f}, {t['refined'] / t['purr']:.2f} "
      f"| {r['refined'] / r['purr15']:.3f} |")
PY
    done
  done
  exit 0
fi
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
