#!/bin/bash
# The H100 measurements of BENCHMARKS.md ("The GPU's place in the image goal", 2026-12-06), run on the device
# machine through the `device` tool (../shared/gpu-device.md): carry .gl (the Vulkan loader's debs) and .dev-bin with
# the stripped release `gvpie`, `purr`, the `gpu_bench`, `long_run` and `pipeline_stats` examples (as gpu_bench_head,
# long_run, pipeline_stats) and .dev-bin/photos/camera_256.png (bench/extra_photos.sh). Results land in $OUT:
# results.jsonl (one gvpie/purrmitive run a line), gpu_bench.txt, long_run.txt, pipeline_stats.txt, log.txt.
set -u
for f in .gl/*.deb; do dpkg -x $f / >/dev/null 2>&1; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
G=.dev-bin/gvpie; L=$OUT/log.txt; R=$OUT/results.jsonl
{ date -u; nproc; lscpu | grep -E "Model name|^CPU\(s\)"; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader; $G gpu info; } >>$L 2>&1
now() { date +%s.%N; }
run() {
  local photo=$1 mode=$2; shift 2
  local s e
  s=$(now); $G evolve "$photo" -o /tmp/o.png --json "$@" >/tmp/o.json 2>>$L; e=$(now)
  echo "{\"photo\":\"$(basename $photo .png)\",\"mode\":\"$mode\",\"wall\":$(awk "BEGIN{print $e-$s}"),\"args\":\"$*\",\"summary\":$(cat /tmp/o.json || echo null)}" >>$R
  awk "BEGIN{print $e-$s}"
}
timeout 60 .dev-bin/pipeline_stats >$OUT/pipeline_stats.txt 2>&1; echo "rc $?" >>$OUT/pipeline_stats.txt
$G evolve test_data/images/chelsea.png -n 5 --refine-backend gpu -o /tmp/warm.png >>$L 2>&1   # warm-up
for p in test_data/images/chelsea.png test_data/images/coffee.png .dev-bin/photos/camera_256.png; do
  s=$(now); .dev-bin/purr -i $p -o /tmp/purr.png -n 50 -m 1 -s 256 -j 16 >/dev/null 2>&1; e=$(now)
  echo "{\"photo\":\"$(basename $p .png)\",\"mode\":\"purr50\",\"wall\":$(awk "BEGIN{print $e-$s}"),\"rmse\":$($G evolve $p --resize 256 --score /tmp/purr.png)}" >>$R
  run $p gvpie50 -n 50 >/dev/null
  run $p gvpie50_cpu -n 50 --refine-backend cpu >/dev/null
done
for p in test_data/images/chelsea.png test_data/images/coffee.png .dev-bin/photos/camera_256.png; do
  T=$(run $p cpu_n200 -n 200 --backend cpu --refine-backend cpu)
  S=$(awk "BEGIN{printf \"%.2f\", $T*0.92}")
  run $p cpu_timed --seconds $S --backend cpu --refine-backend cpu >/dev/null
  run $p auto_timed --seconds $S >/dev/null
done
timeout 100 .dev-bin/gpu_bench_head >>$OUT/gpu_bench.txt 2>&1; echo "rc $?" >>$OUT/gpu_bench.txt
timeout 40 .dev-bin/long_run 5000000 >>$OUT/long_run.txt 2>&1; echo "rc $?" >>$OUT/long_run.txt
date -u >>$L
