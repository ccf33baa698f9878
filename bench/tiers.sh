#!/usr/bin/env bash
# Whole-process timings of the issue-18 workloads: `gvpie run` (default tier, so start-up,
# compilation and writing the PNG count) against Lua 5.4 and LuaJIT (interpreter with -joff,
# and JIT), median of N runs (default 3), alternating so drift hits every side alike.
# Usage: bench/tiers.sh [GVPIE] [N]     (GVPIE defaults to target/release/gvpie)
set -euo pipefail
cd "$(dirname "$0")/.."
GVPIE=${1:-target/release/gvpie}
N=${2:-3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() { local t0 t1; t0=$(now); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; t1=$(now); echo $(((t1 - t0) / 1000000)); }

row() { # name pxl size lua luajit
  local name=$1 pxl=$2 size=$3 lua=$4 luajit=$5
  local g=() gi=() l=() ji=() jj=()
  for _ in $(seq "$N"); do
    g+=("$(time_ms "$GVPIE" run "$pxl" --backend cpu --budget 2000000000 --size "$size" -o "$OUT/o.png" --json)")
    gi+=("$(time_ms "$GVPIE" run "$pxl" --backend cpu --tier interp --budget 2000000000 --size "$size" -o "$OUT/o.png" --json)")
    l+=("$(time_ms lua5.4 "$lua")")
    if command -v luajit >/dev/null; then
      ji+=("$(time_ms luajit -joff "$luajit")")
      jj+=("$(time_ms luajit "$luajit")")
    fi
  done
  local mg mgi ml mji mjj
  mg=$(printf '%s\n' "${g[@]}" | median); mgi=$(printf '%s\n' "${gi[@]}" | median); ml=$(printf '%s\n' "${l[@]}" | median)
  mji=$( ((${#ji[@]})) && printf '%s\n' "${ji[@]}" | median || echo -); mjj=$( ((${#jj[@]})) && printf '%s\n' "${jj[@]}" | median || echo -)
  local tier
  tier=$("$GVPIE" run "$pxl" --backend cpu --budget 2000000000 --size "$size" --json 2>/dev/null | sed -n 's/.*"tier":"\([a-z]*\)".*/\1/p')
  printf '%-8s %-6s %9s %11s %8s %13s %11s %9s %9s\n' "$name" "$tier" "$mg" "$mgi" "$ml" "$mji" "$mjj" \
    "$(awk -v a="$ml" -v b="$mg" 'BEGIN {printf "%.2fx", a / b}')" "$(awk -v a="$mjj" -v b="$mg" 'BEGIN {if (a + 0 > 0) printf "%.2fx", a / b; else print "-"}')"
}

printf '%-8s %-6s %9s %11s %8s %13s %11s %9s %9s\n' workload tier "gvpie ms" "interp ms" "lua ms" "luajit-i ms" "luajit ms" "vs lua" "vs luajit"
row alu bench/alu.pxl 128x64 bench/alu.lua bench/alu_luajit.lua
row fill bench/fill.pxl 256x256 bench/fill.lua bench/fill_luajit.lua
