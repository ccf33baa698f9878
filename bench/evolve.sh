#!/usr/bin/env bash
# Side-by-side image evolution benchmark: gvpie evolve vs purrmitive (`purr`, the Rust port of fogleman/primitive)
# vs gvpie's plain random-restart hill climb, on the photos in test_data/images at 50, 100 and 200 triangles, all
# with the same number of threads. Every output PNG is scored by the same code (`gvpie evolve TARGET --score OUT`).
#
# Usage: bench/evolve.sh [SHAPES...]   (default: 50 100 200)
# Needs: a release build (`cargo build --release -p gvpie`) and `purr` (`cargo install purrmitive --features cli`).
# Env: THREADS (default 2), IMAGES (default: astronaut chelsea coffee), OUT (default: a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
GVPIE=${GVPIE:-target/release/gvpie}
THREADS=${THREADS:-2}
IMAGES=${IMAGES:-"astronaut chelsea coffee"}
OUT=${OUT:-$(mktemp -d)}
SHAPES=("${@:-50 100 200}")
[ -x "$GVPIE" ] || { echo "build first: cargo build --release -p gvpie" >&2; exit 2; }
command -v purr >/dev/null || { echo "install purr: cargo install purrmitive --features cli" >&2; exit 2; }

now() { date +%s.%N; }
score() { "$GVPIE" evolve "$1" --score "$2"; }

echo "| photo | shapes | purr RMSE | purr s | gvpie RMSE | gvpie s | gvpie α=0 RMSE | gvpie α=0 s | plain hill climb RMSE | plain s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for image in $IMAGES; do
  target=test_data/images/$image.png
  for n in ${SHAPES[@]}; do
    # Alternate the systems so that load on the shared machine hits them alike.
    t0=$(now); purr -i "$target" -o "$OUT/purr_${image}_$n.png" -n "$n" -m 1 -s 256 -j "$THREADS" >/dev/null; t1=$(now)
    "$GVPIE" evolve "$target" -n "$n" -o "$OUT/gvpie_${image}_$n.png" -j "$THREADS" --program "$OUT/gvpie_${image}_$n.pxl" 2>/dev/null; t2=$(now)
    "$GVPIE" evolve "$target" -n "$n" -o "$OUT/alpha0_${image}_$n.png" -j "$THREADS" --alpha 0 2>/dev/null; t3=$(now)
    "$GVPIE" evolve "$target" -n "$n" -o "$OUT/plain_${image}_$n.png" -j "$THREADS" --strategy plain 2>/dev/null; t4=$(now)
    printf "| %s | %d | %.4f | %.2f | %.4f | %.2f | %.4f | %.2f | %.4f | %.2f |\n" "$image" "$n" \
      "$(score "$target" "$OUT/purr_${image}_$n.png")" "$(echo "$t1 - $t0" | bc)" \
      "$(score "$target" "$OUT/gvpie_${image}_$n.png")" "$(echo "$t2 - $t1" | bc)" \
      "$(score "$target" "$OUT/alpha0_${image}_$n.png")" "$(echo "$t3 - $t2" | bc)" \
      "$(score "$target" "$OUT/plain_${image}_$n.png")" "$(echo "$t4 - $t3" | bc)"
  done
done
echo "outputs in $OUT" >&2
