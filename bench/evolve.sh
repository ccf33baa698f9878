#!/usr/bin/env bash
# Side-by-side image evolution benchmark: gvpie evolve vs purrmitive (`purr`, the Rust port of fogleman/primitive)
# vs gvpie's plain random-restart hill climb, on the photos in test_data/images at 50, 100 and 200 triangles, all
# with the same number of threads. Every output PNG is scored by the same code (`gvpie evolve TARGET --score OUT`).
#
# Usage: bench/evolve.sh [SHAPES...]   (default: 50 100 200)
# Needs: a release build (`cargo build --release -p gvpie`) and `purr` (`cargo install purrmitive --features cli`).
# Env: THREADS (default 2), IMAGES (default: astronaut chelsea coffee), OUT (default: a temp dir),
#      SYSTEMS (default: "purr cascade fast plain"; also: alpha0; lockstep = the cascade's lockstep rounds on the
#      CPU; gpu = the cascade scored on the GPU with its preset, 4096 resident climbers; gpu16k = 16384 of them),
#      GVPIE, PURR (the binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
GVPIE=${GVPIE:-target/release/gvpie}
PURR=${PURR:-purr}
THREADS=${THREADS:-2}
IMAGES=${IMAGES:-"astronaut chelsea coffee"}
OUT=${OUT:-$(mktemp -d)}
SYSTEMS=${SYSTEMS:-"purr cascade fast plain"}
SHAPES=("${@:-50 100 200}")
mkdir -p "$OUT"
[ -x "$GVPIE" ] || { echo "build first: cargo build --release -p gvpie" >&2; exit 2; }
command -v "$PURR" >/dev/null || { echo "install purr: cargo install purrmitive --features cli" >&2; exit 2; }

now() { date +%s.%N; }
score() { "$GVPIE" evolve "$1" --score "$2"; }

# run SYSTEM TARGET N OUT.png
run() {
  local g=("$GVPIE" evolve "$2" -n "$3" -o "$4" -j "$THREADS")
  case "$1" in
    purr) "$PURR" -i "$2" -o "$4" -n "$3" -m 1 -s 256 -j "$THREADS" >/dev/null ;;
    cascade) "${g[@]}" --strategy cascade --backend cpu 2>/dev/null ;;
    fast) "${g[@]}" --strategy fast 2>/dev/null ;;
    plain) "${g[@]}" --strategy plain 2>/dev/null ;;
    alpha0) "${g[@]}" --strategy cascade --backend cpu --alpha 0 2>/dev/null ;;
    lockstep) "${g[@]}" --strategy cascade --backend cpu --climb-failures 0 2>/dev/null ;;
    gpu) "${g[@]}" --strategy cascade --backend gpu 2>/dev/null ;;
    gpu16k) "${g[@]}" --strategy cascade --backend gpu --climbers 16384 2>/dev/null ;;
    *) echo "unknown system $1" >&2; exit 2 ;;
  esac
}

header="| photo | shapes |"; rule="| --- | ---: |"
for s in $SYSTEMS; do header+=" $s RMSE | $s s |"; rule+=" ---: | ---: |"; done
echo "$header"; echo "$rule"
for image in $IMAGES; do
  target=test_data/images/$image.png
  for n in ${SHAPES[@]}; do
    row="| $image | $n |"
    # The systems run one after another for each row, so load on a shared machine hits them alike.
    for s in $SYSTEMS; do
      out="$OUT/${s}_${image}_$n.png"
      t0=$(now); run "$s" "$target" "$n" "$out"; t1=$(now)
      row+=$(printf " %.4f | %.2f |" "$(score "$target" "$out")" "$(awk "BEGIN { print $t1 - $t0 }")")
    done
    echo "$row"
  done
done
echo "outputs in $OUT" >&2
