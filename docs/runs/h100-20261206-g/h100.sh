#!/bin/bash
# Issue 15: the final code (chunks of one size for straight-line jobs, Schedule::Auto = lanes, outcomes in place,
# heads of assembled textures not decoded), two fresh gpu_bench runs; issue 14 on 16 cores: the polish scored ahead
# on a thread pool (gvpie) against the serial one (gvpie_old), alternated with purrmitive, two rounds.
set -u
for f in .gl/*.deb; do dpkg -x $f / >/dev/null 2>&1; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
L=$OUT/log.txt; R=$OUT/results.jsonl
{ date -u; nproc; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader; } >$L 2>&1
for k in 1 2; do
  GVPIE_EXAMPLES=examples timeout 150 .dev-bin/gpu_bench >$OUT/gpu_bench$k.txt 2>&1; echo "rc $?" >>$OUT/gpu_bench$k.txt; date -u >>$L
done

now() { date +%s.%N; }
for k in 1 2; do
  for p in test_data/images/chelsea.png test_data/images/coffee.png .dev-bin/photos/camera_256.png; do
    s=$(now); .dev-bin/purr -i $p -o /tmp/purr.png -n 50 -m 1 -s 256 -j 16 >/dev/null 2>&1; e=$(now)
    echo "{\"photo\":\"$(basename $p .png)\",\"mode\":\"purr50\",\"wall\":$(awk "BEGIN{print $e-$s}"),\"rmse\":$(.dev-bin/gvpie evolve $p --resize 256 --score /tmp/purr.png)}" >>$R
    for g in gvpie_old gvpie; do
      s=$(now); .dev-bin/$g evolve $p -n 50 -j 16 -o /tmp/o.png --json >/tmp/o.json 2>/dev/null; e=$(now)
      echo "{\"photo\":\"$(basename $p .png)\",\"mode\":\"$g\",\"wall\":$(awk "BEGIN{print $e-$s}"),\"summary\":$(cat /tmp/o.json || echo null)}" >>$R
    done
  done
done
date -u >>$L
