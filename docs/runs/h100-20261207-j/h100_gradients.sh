#!/bin/bash
# Not yet run (the device refused every call after run h). Expects on the device: .gl/*.deb (the Vulkan loader, see
# ../shared/gpu-device.md), .dev-bin/gvpie (release, stripped), .dev-bin/soft_bench{,_old} (examples/soft_bench.rs
# before and after the renderer changes), .dev-bin/photos/*_256.png (bench/extra_photos.sh); writes under $OUT.
# Issue 15, run i: the soft renderers' cost by shape count (CPU on 16 cores against the GPU, the GPU's before and
# after its buffers were reused between evaluations); the equal-time check
# with --seconds now counted from the command's start (opening the GPU included): T = wall of
# `evolve --backend cpu -n 200`, then CPU gradients against GPU gradients at --seconds T and at --seconds 10.
set -u
for f in .gl/*.deb; do dpkg -x $f / >/dev/null 2>&1; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
G=.dev-bin/gvpie; L=$OUT/log.txt; R=$OUT/results.jsonl
{ date -u; nproc; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader; } >$L 2>&1
timeout 45 .dev-bin/soft_bench_old 128 20 >$OUT/soft_bench_old.txt 2>&1; echo "rc $?" >>$OUT/soft_bench_old.txt; date -u >>$L
timeout 45 .dev-bin/soft_bench 128 20 >$OUT/soft_bench.txt 2>&1; echo "rc $?" >>$OUT/soft_bench.txt; date -u >>$L
now() { date +%s.%N; }
run() {
  local photo=$1 mode=$2; shift 2
  local s e
  s=$(now); $G evolve "$photo" -o /tmp/o.png --json "$@" >/tmp/o.json 2>>$L; e=$(now)
  LAST=$(awk "BEGIN{print $e-$s}")
  echo "{\"photo\":\"$(basename $photo .png)\",\"mode\":\"$mode\",\"wall\":$LAST,\"args\":\"$*\",\"summary\":$(cat /tmp/o.json || echo null)}" >>$R
}
$G evolve test_data/images/chelsea.png -n 5 --refine-backend gpu -o /tmp/warm.png >>$L 2>&1
for p in test_data/images/chelsea.png test_data/images/coffee.png .dev-bin/photos/camera_256.png .dev-bin/photos/retina_256.png .dev-bin/photos/motorcycle_left_256.png; do
  run $p cpu_n200 --backend cpu -n 200
  T=$(awk "BEGIN{printf \"%.2f\", $LAST}")
  run $p cpu_T --refine-backend cpu --seconds $T
  run $p gpugrad_T --refine-backend gpu --seconds $T
  run $p cpu_10 --refine-backend cpu --seconds 10
  run $p gpugrad_10 --refine-backend gpu --seconds 10
  date -u >>$L
done
