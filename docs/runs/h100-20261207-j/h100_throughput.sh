#!/bin/bash
# Issue 15, run j: two fresh gpu_bench runs (the plan now reads each program's sizes once on all cores and judges
# straight-line batches on a sample; variants with a smaller first chunk), then run i (bench/h100_gradients.sh), then
# where a GPU shape search's time goes (`scorer_seconds` in the JSON: the scorer's calls against the cascade's CPU work).
# Expects .dev-bin/gpu_bench (release, stripped) besides what bench/h100_gradients.sh expects; writes under $OUT.
set -u
for f in .gl/*.deb; do dpkg -x $f / >/dev/null 2>&1; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
for k in 1 2; do
  GVPIE_EXAMPLES=examples timeout 120 .dev-bin/gpu_bench >$OUT/gpu_bench$k.txt 2>&1; echo "rc $?" >>$OUT/gpu_bench$k.txt
done
bash bench/h100_gradients.sh
for p in test_data/images/chelsea.png .dev-bin/photos/camera_256.png; do
  for b in gpu cpu; do
    .dev-bin/gvpie evolve $p -n 200 --backend $b --effort cpu --json -o /tmp/p.png >>$OUT/profile.jsonl 2>>$OUT/log.txt
  done
done
