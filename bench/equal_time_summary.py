#!/usr/bin/env python3
"""Summarises a results.jsonl of bench/h100_equal_time.sh: per photo, the mean RMSE and shapes of each mode at
--seconds T (reps averaged), the defaults' and --no-overlap's RMSE relative to the CPU path, and the 10 s pair.
Usage: bench/equal_time_summary.py RESULTS.jsonl"""
import json
import sys
from collections import defaultdict

rows = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1]):
    r = json.loads(line)
    s = r["summary"]
    if s is None:
        continue
    mode = r["mode"].rstrip("0123456789") if r["mode"][:-1] in ("cpu_T", "auto_T", "seq_T") else r["mode"]
    rows[r["photo"]][mode].append((s["rmse"], s["shapes"], r["wall"], s.get("refine", {}).get("overlapped", 0)))

mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
ratios = defaultdict(list)
print(f"{'photo':<18}{'T s':>6}{'cpu_T':>9}{'auto_T':>9}{'seq_T':>9}{'auto/cpu':>9}{'seq/cpu':>9}"
      f"{'shapes c/a/s':>16}{'10s a/c':>9}{'n200 a/c time':>14}")
for photo, m in rows.items():
    t = m["cpu_n200"][0][2]
    c, a, q = (mean([x[0] for x in m[k]]) for k in ("cpu_T", "auto_T", "seq_T"))
    sc, sa, sq = (mean([x[1] for x in m[k]]) for k in ("cpu_T", "auto_T", "seq_T"))
    ten = m["auto_10"][0][0] / m["cpu_10"][0][0] if m["auto_10"] and m["cpu_10"] else float("nan")
    n200 = m["auto_n200"][0][2] / t
    ratios["auto"].append(a / c)
    ratios["seq"].append(q / c)
    ratios["ten"].append(ten)
    print(f"{photo:<18}{t:>6.2f}{c:>9.5f}{a:>9.5f}{q:>9.5f}{a / c - 1:>+9.1%}{q / c - 1:>+9.1%}"
          f"{f'{sc:.0f}/{sa:.0f}/{sq:.0f}':>16}{ten - 1:>+9.1%}{n200:>14.2f}")
print(f"{'mean':<18}{'':>6}{'':>9}{'':>9}{'':>9}{mean(ratios['auto']) - 1:>+9.1%}{mean(ratios['seq']) - 1:>+9.1%}"
      f"{'':>16}{mean(ratios['ten']) - 1:>+9.1%}")

# The markdown rows of BENCHMARKS.md: per photo the CPU path's -n 200 (T), each mode's two runs at T (RMSE and
# shapes), the defaults' change against the CPU path run by run, the 10 s pair, and the defaults at -n 200.
by_mode = defaultdict(dict)
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["summary"] is not None:
        by_mode[r["photo"]][r["mode"]] = r
print()
for photo, m in by_mode.items():
    def cell(k):
        s = m[k]["summary"]
        return s["rmse"], s["shapes"], m[k]["wall"]
    t = m["cpu_n200"]["wall"]
    out = [photo, f"{m['cpu_n200']['summary']['rmse']:.5f} ({t:.2f} s)"]
    reps = [k for k in (1, 2, 3) if f"cpu_T{k}" in m]
    for mode in ("cpu", "auto", "seq"):
        out.append(" / ".join(f"{c[0]:.5f} ({c[1]})" for c in (cell(f"{mode}_T{k}") for k in reps)))
    changes = [cell(f"auto_T{k}")[0] / cell(f"cpu_T{k}")[0] - 1 for k in reps]
    out.append(", ".join(f"{c:+.1%}" for c in changes))
    c10, a10 = cell("cpu_10"), cell("auto_10")
    out += [f"{c10[0]:.5f} ({c10[1]})", f"{a10[0]:.5f} ({a10[1]}, {a10[0] / c10[0] - 1:+.1%})"]
    n200 = m["auto_n200"]
    out.append(f"{n200['wall'] / t:.2f}×, {n200['summary']['rmse']:.5f}")
    print("| " + " | ".join(out) + " |")
