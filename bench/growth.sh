#!/usr/bin/env bash
# Left alone: `gvpie up --interval 1` on a fresh database for SECONDS (default 3600), sampling once a minute what
# it grew by itself: self-set goals, goals done, kinds of pictures in the explore archive, distinct programs,
# executions with lineage, adoptions, cycles saved per run of the scripts, the daemon's RSS and the database size.
# Prints one tab-separated row per sample (and keeps the daemon's log beside the database).
#
# Usage: bench/growth.sh [SECONDS]      Needs: a release build (cargo build --release -p gvpie), sqlite3.
# Env: GVPIE (the binary), OUT (default: a temp dir; the database and logs stay there).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TOTAL=${1:-3600}
GVPIE=${GVPIE:-target/release/gvpie}
OUT=${OUT:-$(mktemp -d)}
DB="$OUT/gvpie.db"
[ -x "$GVPIE" ] || { echo "build first: cargo build --release -p gvpie" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "needs sqlite3 (apt-get install -y sqlite3)" >&2; exit 2; }

"$GVPIE" up --db "$DB" --bind 127.0.0.1:0 --interval 1 --log-format json >"$OUT/up.out" 2>"$OUT/up.err" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT

q() { sqlite3 -readonly "file:$DB?mode=ro" "$1" 2>/dev/null || echo "?"; }
printf 'seconds\tcycles\tself_set_goals\tgoals_done\tarchive_kinds\tarchive_pictures\tdistinct_programs\twith_lineage\tadoptions\tcycles_saved_per_run\trss_mib\tdb_mib\n'
start=$(date +%s)
while :; do
  elapsed=$(( $(date +%s) - start ))
  rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$PID/status" 2>/dev/null || echo "?")
  db=$(du -m "$DB" 2>/dev/null | cut -f1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$elapsed" \
    "$(q "SELECT value FROM counters WHERE name = 'daemon_cycles'")" \
    "$(q "SELECT COUNT(*) FROM development_goals WHERE origin IS NOT NULL")" \
    "$(q "SELECT COUNT(*) FROM development_goals WHERE status = 'done'")" \
    "$(q "SELECT COALESCE(MAX(json_array_length(spec, '\$.state.archive')), 0) FROM development_goals WHERE kind = 'explore'")" \
    "$(q "SELECT COUNT(DISTINCT e.image_id) FROM executions e JOIN texts g ON g.id = e.generator_id WHERE g.text LIKE 'explore:%' AND e.image_id IS NOT NULL")" \
    "$(q "SELECT COUNT(DISTINCT program_id) FROM executions")" \
    "$(q "SELECT COUNT(*) FROM executions WHERE parent_iteration IS NOT NULL")" \
    "$(q "SELECT COUNT(*) FROM adoptions")" \
    "$(q "SELECT COALESCE(SUM(a.original_cycles - a.cycles), 0) FROM adoptions a WHERE a.id = (SELECT MAX(id) FROM adoptions b WHERE b.original = a.original)")" \
    "$rss" "${db:-?}"
  [ "$elapsed" -ge "$SECONDS_TOTAL" ] && break
  kill -0 $PID 2>/dev/null || { echo "gvpie up exited early; see $OUT/up.err" >&2; exit 1; }
  sleep 60
done
echo "# database and logs: $OUT" >&2
