#!/usr/bin/env bash
# The HTTP API benchmark of BENCHMARKS.md ("## HTTP API"): wrk at 64 connections against
# POST /api/execute (the seed's hello program) and, as the ceiling, GET /health of the same
# server. Needs `wrk` (apt-get install -y wrk) and a release build (built here if missing).
#
# Usage: bench/http.sh [DURATION_SECONDS] [CONNECTIONS]   (defaults 15 and 64)
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-15}"
connections="${2:-64}"
threads=2
port="${GVPIE_BENCH_PORT:-18181}"

command -v wrk >/dev/null || { echo "bench/http.sh: wrk is missing (apt-get install -y wrk)" >&2; exit 2; }
cargo build --release -p gvpie --quiet
bin=target/release/gvpie

scratch="$(mktemp -d)"
"$bin" serve --bind "127.0.0.1:$port" --db "$scratch/gvpie.db" >"$scratch/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$scratch"' EXIT
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "server:  $("$bin" --version), wrk -t$threads -c$connections -d${duration}s --latency"

# A short warm-up so that both runs start from the same state.
wrk -t"$threads" -c"$connections" -d2s "http://127.0.0.1:$port/health" >/dev/null

run() {
  local name="$1"; shift
  echo
  echo "== $name"
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$@" | tee "$scratch/$name.txt"
}
run health "http://127.0.0.1:$port/health"
run execute -s bench/execute.lua "http://127.0.0.1:$port/api/execute"

rps() { awk '/^Requests\/sec:/{print $2}' "$scratch/$1.txt"; }
p99() { awk '/^ +99%/{print $2}' "$scratch/$1.txt"; }
echo
echo "== summary"
printf '%-28s %12s %10s\n' endpoint requests/s p99
printf '%-28s %12s %10s\n' "GET /health" "$(rps health)" "$(p99 health)"
printf '%-28s %12s %10s\n' "POST /api/execute (hello)" "$(rps execute)" "$(p99 execute)"
awk -v e="$(rps execute)" -v h="$(rps health)" 'BEGIN{printf "execute / health: %.0f%%\n", 100*e/h}'
