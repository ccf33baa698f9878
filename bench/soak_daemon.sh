#!/usr/bin/env bash
# Soak test of `gvpie daemon --interval 0`: runs it for SECONDS (default 1800), sampling its
# resident memory, the database's size and the executions made every SAMPLE seconds into
# OUT/samples.csv, then stops it with SIGTERM and checks the database.
# Usage: bench/soak_daemon.sh GVPIE_BINARY OUT_DIR [SECONDS] [SAMPLE]
set -euo pipefail
bin=$1
out=$2
seconds=${3:-1800}
sample=${4:-30}
mkdir -p "$out"
db="$out/gvpie.db"
rm -f "$db" "$db-wal" "$db-shm"
rm -rf "$out/logs"

# The seed's two scripts plus a bigger one and a failing one, so both paths are soaked.
"$bin" up --db "$db" --cycles 0 --interval 0 >/dev/null
printf '# purpose: shapes\nCOLOR 255 0 0\nCIRCF 30 30 20\nCOLOR 0 255 0 128\nTRI 0 0 100 10 50 60\nSET i 0\nloop:\nPSET i i\nLOOP i 60 loop\nHALT\n' >"$out/shapes.pxl"
printf 'DIV x 1 0\n' >"$out/trap.pxl"
"$bin" scripts add shapes "$out/shapes.pxl" --db "$db" >/dev/null
"$bin" scripts add trap "$out/trap.pxl" --db "$db" --purpose "a run-time error on purpose" >/dev/null

"$bin" daemon --db "$db" --interval 0 --quiet --per-cycle 3 --metrics-interval 60 >"$out/stdout.txt" 2>"$out/stderr.txt" &
pid=$!
echo "elapsed_s,rss_kib,db_bytes,wal_bytes,executions" >"$out/samples.csv"
start=$(date +%s)
while true; do
    now=$(date +%s)
    elapsed=$((now - start))
    rss=$(ps -o rss= -p "$pid" | tr -d ' ' || echo 0)
    dbsize=$(stat -c %s "$db")
    walsize=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
    executions=$("$bin" scripts list --db "$db" --json | python3 -c 'import json,sys; print(sum(s["run_count"] for s in json.load(sys.stdin)))')
    echo "$elapsed,$rss,$dbsize,$walsize,$executions" >>"$out/samples.csv"
    if [ "$elapsed" -ge "$seconds" ]; then break; fi
    sleep "$sample"
done
kill -TERM "$pid"
wait "$pid" && echo "daemon exit status 0" >>"$out/stderr.txt"
"$bin" replay 1 --db "$db" >"$out/replay.txt" || true
echo "done" >"$out/done"
