#!/bin/bash
# Issue 15 (split pipeline: registers and throughput) and issue 14 (16 cores) on the device.
set -u
for f in .gl/*.deb; do dpkg -x $f / >/dev/null 2>&1; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
G=.dev-bin/gvpie; L=$OUT/log.txt; R=$OUT/results.jsonl
{ date -u; nproc; lscpu | grep -E "Model name|^CPU\(s\)"; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader; $G gpu info; } >>$L 2>&1
timeout 60 .dev-bin/pipeline_stats >$OUT/pipeline_stats.txt 2>&1; echo "rc $?" >>$OUT/pipeline_stats.txt
GVPIE_EXAMPLES=examples timeout 200 .dev-bin/gpu_bench >>$OUT/gpu_bench.txt 2>&1; echo "rc $?" >>$OUT/gpu_bench.txt
now() { date +%s.%N; }
for p in test_data/images/chelsea.png test_data/images/coffee.png .dev-bin/photos/camera_256.png .dev-bin/photos/retina_256.png; do
  for j in 16 2; do
    s=$(now); .dev-bin/purr -i $p -o /tmp/purr.png -n 50 -m 1 -s 256 -j $j >/dev/null 2>&1; e=$(now)
    echo "{\"photo\":\"$(basename $p .png)\",\"mode\":\"purr50\",\"threads\":$j,\"wall\":$(awk "BEGIN{print $e-$s}"),\"rmse\":$($G evolve $p --resize 256 --score /tmp/purr.png)}" >>$R
    s=$(now); $G evolve $p -n 50 -j $j -o /tmp/o.png --json >/tmp/o.json 2>>$L; e=$(now)
    echo "{\"photo\":\"$(basename $p .png)\",\"mode\":\"gvpie50\",\"threads\":$j,\"wall\":$(awk "BEGIN{print $e-$s}"),\"summary\":$(cat /tmp/o.json || echo null)}" >>$R
  done
done
GVPIE_EXAMPLES=examples timeout 120 .dev-bin/gpu_bench >>$OUT/gpu_bench2.txt 2>&1; echo "rc $?" >>$OUT/gpu_bench2.txt
timeout 40 .dev-bin/long_run 5000000 >>$OUT/long_run.txt 2>&1; echo "rc $?" >>$OUT/long_run.txt
date -u >>$L
