#!/bin/bash
# Issue 15, run h: two fresh gpu_bench runs (each variant warmed once before timing); the equal-time check
# exactly: T = wall of `evolve --backend cpu -n 200`, then the GPU paths (the GPU scorer now solves the alpha per
# shape like the CPU) and the CPU given --seconds T, five photos; both scorers at -n 200 (same preset: same program).
# (--seconds still counted from after the GPU was opened in this build.)
set -u
for f in .gl/*.deb; do dpkg -x $f / >/dev/null 2>&1; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
G=.dev-bin/gvpie; L=$OUT/log.txt; R=$OUT/results.jsonl
{ date -u; nproc; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader; } >$L 2>&1
for k in 1 2; do
  GVPIE_EXAMPLES=examples timeout 120 .dev-bin/gpu_bench >$OUT/gpu_bench$k.txt 2>&1; echo "rc $?" >>$OUT/gpu_bench$k.txt; date -u >>$L
done
now() { date +%s.%N; }
run() {
  local photo=$1 mode=$2; shift 2
  local s e
  s=$(now); $G evolve "$photo" -o /tmp/o.png --json "$@" >/tmp/o.json 2>>$L; e=$(now)
  LAST=$(awk "BEGIN{print $e-$s}")
  echo "{\"photo\":\"$(basename $photo .png)\",\"mode\":\"$mode\",\"wall\":$LAST,\"args\":\"$*\",\"summary\":$(cat /tmp/o.json || echo null)}" >>$R
}
$G evolve test_data/images/chelsea.png -n 5 --backend gpu --refine-backend gpu -o /tmp/warm.png >>$L 2>&1
for p in test_data/images/chelsea.png test_data/images/coffee.png .dev-bin/photos/camera_256.png .dev-bin/photos/retina_256.png .dev-bin/photos/motorcycle_left_256.png; do
  run $p cpu_n200 --backend cpu -n 200
  T=$(awk "BEGIN{printf \"%.2f\", $LAST}")
  run $p gpu_T --backend gpu --seconds $T
  run $p gpu_all_T --backend gpu --refine-backend gpu --seconds $T
  run $p cpu_search_gpu_grad_T --backend cpu --refine-backend gpu --seconds $T
  run $p cpu_T --backend cpu --seconds $T
  run $p gpu_n200 --backend gpu -n 200
  run $p gpu_effort_cpu_n200 --backend gpu --effort cpu -n 200
  date -u >>$L
done
