#!/bin/bash
set -u
for f in .gl/*.deb; do dpkg -x $f / >/dev/null 2>&1; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
date -u > $OUT/log.txt
timeout 60 .dev-bin/pipeline_stats >$OUT/pipeline_stats.txt 2>&1; echo "rc $?" >>$OUT/pipeline_stats.txt
for k in 1 2; do GVPIE_EXAMPLES=examples timeout 200 .dev-bin/gpu_bench >>$OUT/gpu_bench$k.txt 2>&1; echo "rc $?" >>$OUT/gpu_bench$k.txt; done
date -u >> $OUT/log.txt
