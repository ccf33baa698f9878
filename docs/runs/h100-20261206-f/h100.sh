#!/bin/bash
# Issue 15: Schedule::Auto = lanes, the first chunk a quarter of the others (two fresh gpu_bench runs); evolve's
# refine-backend auto (GPU gradients) against CPU gradients at equal --seconds, 3 and 10 s, three photos.
set -u
for f in .gl/*.deb; do dpkg -x $f / >/dev/null 2>&1; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
G=.dev-bin/gvpie; L=$OUT/log.txt; R=$OUT/results.jsonl
{ date -u; nproc; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader; } >$L 2>&1
for k in 1 2; do
  GVPIE_EXAMPLES=examples timeout 150 .dev-bin/gpu_bench >$OUT/gpu_bench$k.txt 2>&1; echo "rc $?" >>$OUT/gpu_bench$k.txt; date -u >>$L
done
now() { date +%s.%N; }
run() {
  local photo=$1 mode=$2; shift 2
  local s e
  s=$(now); $G evolve "$photo" -o /tmp/o.png --json "$@" >/tmp/o.json 2>>$L; e=$(now)
  echo "{\"photo\":\"$(basename $photo .png)\",\"mode\":\"$mode\",\"wall\":$(awk "BEGIN{print $e-$s}"),\"args\":\"$*\",\"summary\":$(cat /tmp/o.json || echo null)}" >>$R
}
$G evolve test_data/images/chelsea.png -n 5 --refine-backend gpu -o /tmp/warm.png >>$L 2>&1
for p in test_data/images/chelsea.png test_data/images/coffee.png .dev-bin/photos/camera_256.png; do
  for S in 3 3 10; do
    run $p cpu_s$S --seconds $S --refine-backend cpu
    run $p gpugrad_s$S --seconds $S --refine-backend gpu
  done
done
date -u >>$L
