#!/bin/bash
# Issue 15: interpreter floors (interp_probe), the new fast loop (gpu_bench) against HEAD's (gpu_bench_old), alternated;
# pipeline statistics and the driver's internal representations; issue 14 on 16 cores (chunked soft renderer).
set -u
for f in .gl/*.deb; do dpkg -x $f / >/dev/null 2>&1; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
L=$OUT/log.txt
{ date -u; nproc; lscpu | grep -E "Model name"; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm --format=csv,noheader; } >$L 2>&1
timeout 60 .dev-bin/pipeline_stats --ir $OUT/ir >$OUT/pipeline_stats.txt 2>&1; echo "rc $?" >>$OUT/pipeline_stats.txt
timeout 120 .dev-bin/interp_probe >$OUT/interp_probe.txt 2>&1; echo "rc $?" >>$OUT/interp_probe.txt
for k in 1 2; do
  GVPIE_EXAMPLES=examples timeout 100 .dev-bin/gpu_bench_old >$OUT/gpu_bench_old$k.txt 2>&1; echo "rc $?" >>$OUT/gpu_bench_old$k.txt
  GVPIE_EXAMPLES=examples timeout 100 .dev-bin/gpu_bench >$OUT/gpu_bench_new$k.txt 2>&1; echo "rc $?" >>$OUT/gpu_bench_new$k.txt
  date -u >>$L
done
R=$OUT/results.jsonl
now() { date +%s.%N; }
for p in test_data/images/chelsea.png test_data/images/coffee.png .dev-bin/photos/camera_256.png; do
  s=$(now); .dev-bin/purr -i $p -o /tmp/purr.png -n 50 -m 1 -s 256 -j 16 >/dev/null 2>&1; e=$(now)
  echo "{\"photo\":\"$(basename $p .png)\",\"mode\":\"purr50\",\"wall\":$(awk "BEGIN{print $e-$s}"),\"rmse\":$(.dev-bin/gvpie evolve $p --resize 256 --score /tmp/purr.png)}" >>$R
  s=$(now); .dev-bin/gvpie evolve $p -n 50 -j 16 -o /tmp/o.png --json >/tmp/o.json 2>/dev/null; e=$(now)
  echo "{\"photo\":\"$(basename $p .png)\",\"mode\":\"gvpie50\",\"wall\":$(awk "BEGIN{print $e-$s}"),\"summary\":$(cat /tmp/o.json || echo null)}" >>$R
done
date -u >>$L
