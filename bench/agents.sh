#!/usr/bin/env bash
# Agents on one PostgreSQL: executions committed per second by 1, 2 and 4 agents
# (`gvpie daemon --db postgres://… --agent aN --no-self-goals --interval 0`) sharing one database, against one
# daemon on a SQLite file; then the store alone, commits per second on PostgreSQL and SQLite at the same batch sizes
# (`gvpie bench store`). Prints markdown tables (the ones in BENCHMARKS.md) and keeps the logs in OUT.
#
# Each agent run: a fresh database (PostgreSQL: a new database on the server, dropped afterwards; SQLite: a new file)
# seeded with the 13 examples (`examples/*.pxl`, `gvpie scripts add`), the agents started, a warm-up until every
# agent has committed an execution, then the executions and commits (daemon cycles) in the database counted, WINDOW
# seconds waited, and counted again: the rate is what the database holds, not what the agents say.
#
# Usage: bench/agents.sh [WINDOW_SECONDS]        (default 30)
# Needs: a release build (cargo build --release -p gvpie), a PostgreSQL server you may create databases on, psql,
# sqlite3.
# Env: GVPIE  the binary (default target/release/gvpie)
#      PG     the server, as a URL naming any database on it (default postgres://postgres@127.0.0.1:55432/postgres)
#      AGENTS the agent counts (default "1 2 4");  ROLES the agents' --roles (default: all three)
#      BATCHES the store benchmark's batch sizes (default "3 100 1000")
#      OUT    where the logs go (default: a new temporary folder)
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOW=${1:-30}
GVPIE=${GVPIE:-target/release/gvpie}
PG=${PG:-postgres://postgres@127.0.0.1:55432/postgres}
AGENTS=${AGENTS:-1 2 4}
ROLES=${ROLES:-scripts,goals,evaluate}
BATCHES=${BATCHES:-3 100 1000}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
[ -x "$GVPIE" ] || { echo "build first: cargo build --release -p gvpie" >&2; exit 2; }
command -v psql >/dev/null || { echo "needs psql (apt-get install -y postgresql-client)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "needs sqlite3 (apt-get install -y sqlite3)" >&2; exit 2; }
psql "$PG" -Atqc 'SELECT 1' >/dev/null || { echo "cannot reach PostgreSQL at $PG" >&2; exit 2; }

SERVER=${PG%/*}          # postgres://USER@HOST:PORT
TAG="gvpie_bench_$$"
PIDS=()
DROP=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "${DROP[@]}"; do psql "$PG" -Atqc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# count DB SQL: one value from the database DB (a postgres:// URL or a SQLite file).
count() {
  case "$1" in
    postgres://*) psql "$1" -Atqc "$2" ;;
    *) sqlite3 -readonly "file:$1?mode=ro" "$2" ;;
  esac
}

seed() {
  local db=$1 f
  for f in examples/*.pxl; do
    "$GVPIE" scripts add --db "$db" "$(basename "$f" .pxl)" "$f" >/dev/null
  done
}

# run LABEL DB N: N agents on DB for WINDOW seconds; prints one table row.
run() {
  local label=$1 db=$2 n=$3 i
  seed "$db"
  PIDS=()
  for i in $(seq 1 "$n"); do
    "$GVPIE" daemon --db "$db" --agent "a$i" --roles "$ROLES" --no-self-goals --interval 0 --quiet --no-log-file \
      >"$OUT/$label-a$i.out" 2>"$OUT/$label-a$i.err" &
    PIDS+=($!)
  done
  # Warm-up: every agent has committed something (they have connected, migrated, claimed, run).
  local waited=0
  until [ "$(count "$db" 'SELECT COUNT(DISTINCT agent_id) FROM executions')" -ge "$n" ]; do
    sleep 0.5; waited=$((waited + 1))
    [ "$waited" -le 240 ] || { echo "$label: the agents committed nothing in 120 s; see $OUT/$label-*.err" >&2; exit 1; }
  done
  local load0 e0 c0 i0 t0 load1 e1 c1 i1 t1
  load0=$(cut -d' ' -f1 /proc/loadavg)
  e0=$(count "$db" 'SELECT COUNT(*) FROM executions')
  c0=$(count "$db" "SELECT COALESCE(MAX(value), 0) FROM counters WHERE name = 'daemon_cycles'")
  i0=$(count "$db" 'SELECT COALESCE(MAX(iteration), 0) FROM executions')
  t0=$(date +%s.%N)
  sleep "$WINDOW"
  e1=$(count "$db" 'SELECT COUNT(*) FROM executions')
  c1=$(count "$db" "SELECT COALESCE(MAX(value), 0) FROM counters WHERE name = 'daemon_cycles'")
  i1=$(count "$db" 'SELECT COALESCE(MAX(iteration), 0) FROM executions')
  t1=$(date +%s.%N)
  load1=$(cut -d' ' -f1 /proc/loadavg)
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    wait "$pid" || { echo "$label: an agent exited with an error; see $OUT/$label-*.err" >&2; exit 1; }
  done
  PIDS=()
  # Each agent's share of the window (from the records' agent_id; iterations grow with commits on both backends).
  local shares
  shares=$(count "$db" "SELECT string_agg(n::text, '/' ORDER BY name) FROM (SELECT a.name, COUNT(*) AS n FROM executions e JOIN agents a ON a.id = e.agent_id WHERE e.iteration > $i0 AND e.iteration <= $i1 GROUP BY a.name) s" 2>/dev/null ||
    count "$db" "SELECT group_concat(n, '/') FROM (SELECT a.name, COUNT(*) AS n FROM executions e JOIN agents a ON a.id = e.agent_id WHERE e.iteration > $i0 AND e.iteration <= $i1 GROUP BY a.name ORDER BY a.name)")
  awk -v l="$label" -v n="$n" -v e="$((e1 - e0))" -v c="$((c1 - c0))" -v t0="$t0" -v t1="$t1" -v s="$shares" \
      -v l0="$load0" -v l1="$load1" \
    'BEGIN { d = t1 - t0; printf "| %s | %d | %d in %.1f s | **%.0f** | %.0f | %s | %s → %s |\n", l, n, e, d, e / d, c / d, s, l0, l1 }'
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# PostgreSQL: $(psql "$PG" -Atqc 'SHOW server_version'), fsync=$(psql "$PG" -Atqc 'SHOW fsync'), synchronous_commit=$(psql "$PG" -Atqc 'SHOW synchronous_commit'), shared_buffers=$(psql "$PG" -Atqc 'SHOW shared_buffers'); logs in $OUT"
echo
echo "| database | agents | executions committed | executions/s | commits/s | per agent | load (1 min) before → after |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
run sqlite "$OUT/sqlite.db" 1
for n in $AGENTS; do
  db="${TAG}_$n"
  DROP+=("$db")
  run postgres "$SERVER/$db" "$n"
done

echo
echo "| batch (executions per commit) | SQLite executions/s | SQLite commits/s | PostgreSQL executions/s | PostgreSQL commits/s | PostgreSQL / SQLite |"
echo "| --- | --- | --- | --- | --- | --- |"
for batch in $BATCHES; do
  executions=$((batch * 500))
  [ "$batch" -lt 1000 ] || executions=$((batch * 200))
  "$GVPIE" bench store --executions "$executions" --batch "$batch" --json >"$OUT/store-sqlite-$batch.json"
  db="${TAG}_store_$batch"
  DROP+=("$db")
  "$GVPIE" bench store --db "$SERVER/$db" --executions "$executions" --batch "$batch" --json >"$OUT/store-postgres-$batch.json"
  rate() { sed -n 's/.*"recorded_per_s": \([0-9.e+]*\).*/\1/p' "$1"; }
  awk -v b="$batch" -v s="$(rate "$OUT/store-sqlite-$batch.json")" -v p="$(rate "$OUT/store-postgres-$batch.json")" \
    'BEGIN { printf "| %d | %.0f | %.0f | %.0f | %.0f | %.2f |\n", b, s, s / b, p, p / b, p / s }'
done
