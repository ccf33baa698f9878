#!/bin/bash
# Issue 15, run j: two fresh gpu_bench runs (the plan now reads each program's sizes once on all cores and judges
# straight-line batches on a sample; variants with a smaller first chunk), then run i (bench/h100_gradients.sh).
# Expects .dev-bin/gpu_bench (release, stripped) besides what bench/h100_gradients.sh expects; writes under $OUT.
set -u
for f in .gl/*.deb; do dpkg -x $f / >/dev/null 2>&1; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
for k in 1 2; do
  GVPIE_EXAMPLES=examples timeout 120 .dev-bin/gpu_bench >$OUT/gpu_bench$k.txt 2>&1; echo "rc $?" >>$OUT/gpu_bench$k.txt
done
bash bench/h100_gradients.sh
