#!/bin/bash
# Issue 15, runs k, l and m: the equal-time check with `--seconds` now taking the time before the session (loading,
# opening the GPU) off the budget and the GPU device left to the process's exit, and `auto` now computing the
# gradients on a hardware GPU (run l: opened on another thread while the first shapes are placed; run m: under
# --seconds, refinements before it is open compute on the CPU instead of waiting; the T runs twice). T = wall of
# the CPU path (`--backend cpu --refine-backend cpu -n 200`); then the CPU path and the defaults (`auto`) at
# --seconds T and 10, and the defaults at -n 200. Expects .gl/*.deb (the Vulkan loader, see
# ../shared/gpu-device.md), .dev-bin/gvpie (release, stripped), .dev-bin/photos/*_256.png; writes under $OUT.
# Arguments: the photos (default: the five of runs k and l).
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
  run $p cpu_T --backend cpu --refine-backend cpu --seconds $T
  run $p auto_T --seconds $T
  run $p cpu_T2 --backend cpu --refine-backend cpu --seconds $T
  run $p auto_T2 --seconds $T
  run $p cpu_10 --backend cpu --refine-backend cpu --seconds 10
  run $p auto_10 --seconds 10
  date -u >>$L
done
