#!/bin/bash
# Issue 15, the equal-time check (runs k, l, m). T = wall of the CPU path (`--backend cpu --refine-backend cpu
# -n 200`); then at --seconds T, twice each, interleaved: the CPU path, the defaults (`auto`: gradients on the
# hardware GPU, refinements beside the search since run m) and the defaults with `--no-overlap` (refinements in
# turn with the search, as before run m); then the CPU path and the defaults at --seconds 10, and the defaults at
# -n 200. Expects .gl/*.deb (the Vulkan loader, see ../shared/gpu-device.md), .dev-bin/gvpie (release, stripped),
# photos as arguments (REPS=n: the T runs n times each, default 2) (default: the repo's two and .dev-bin/photos/*_256.png); writes under $OUT.
set -u
for f in .gl/*.deb; do dpkg -x $f / >/dev/null 2>&1; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
G=.dev-bin/gvpie; L=$OUT/log.txt; R=$OUT/results.jsonl
{ date -u; nproc; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader; } >$L 2>&1
now() { date +%s.%N; }
run() {
  local photo=$1 mode=$2; shift 2
  local s e
  s=$(now); $G evolve "$photo" -o /tmp/o.png --json "$@" >/tmp/o.json 2>>$L; e=$(now)
  LAST=$(awk "BEGIN{print $e-$s}")
  echo "{\"photo\":\"$(basename $photo .png)\",\"mode\":\"$mode\",\"wall\":$LAST,\"args\":\"$*\",\"summary\":$(cat /tmp/o.json || echo null)}" >>$R
}
$G evolve test_data/images/chelsea.png -n 5 -o /tmp/warm.png >>$L 2>&1
PHOTOS=("$@")
[ ${#PHOTOS[@]} -gt 0 ] || PHOTOS=(test_data/images/chelsea.png test_data/images/coffee.png .dev-bin/photos/camera_256.png .dev-bin/photos/retina_256.png .dev-bin/photos/motorcycle_left_256.png)
for p in "${PHOTOS[@]}"; do
  run $p cpu_n200 --backend cpu --refine-backend cpu -n 200
  T=$(awk "BEGIN{printf \"%.2f\", $LAST}")
  run $p auto_n200 -n 200
  for rep in $(seq 1 ${REPS:-2}); do
    run $p cpu_T$rep --backend cpu --refine-backend cpu --seconds $T
    run $p auto_T$rep --seconds $T
    run $p seq_T$rep --no-overlap --seconds $T
  done
  run $p cpu_10 --backend cpu --refine-backend cpu --seconds 10
  run $p auto_10 --seconds 10
  date -u >>$L
done
