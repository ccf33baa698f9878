#!/usr/bin/env bash
# Several hosts on one PostgreSQL, simulated with network namespaces: two "hosts" (namespaces gvpie-h1, gvpie-h2,
# each with its own network stack, reaching the database only over a bridge as a LAN), one agent each, a private
# PostgreSQL cluster listening on the bridge (listen_addresses and pg_hba.conf as docs/agents.md describes, trust
# instead of passwords), and `gvpie serve` on the "database host" streaming /api/events. Then host 1 dies: every
# process in its namespace is killed with SIGKILL and its cable pulled. Checks: its agent goes `stale` (an `agent`
# event `left`, state stale), the other agent takes its goal island over (`took_over` from it, and the slice in
# `work_log` names it), keeps committing, and `gvpie agents --json` says so. Prints one line per check; exit 0 when all pass.
#
# Usage (as root: namespaces need it): crates/server/tests/netns_agents.sh [GVPIE_BINARY]
# Needs: ip (iproute2), Debian's postgresql server binaries (/usr/lib/postgresql/*/bin), curl, runuser.
set -euo pipefail
cd "$(dirname "$0")/../../.."
GVPIE=$(realpath "${1:-target/release/gvpie}")
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 2; }
[ -x "$GVPIE" ] || { echo "no gvpie binary at $GVPIE (cargo build --release -p gvpie)" >&2; exit 2; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] || { echo "needs Debian's postgresql package" >&2; exit 2; }

NET=10.77.0
PORT=55499
WORK=$(mktemp -d /tmp/gvpie-netns-XXXXXX)
chmod 755 "$WORK"
chown postgres "$WORK"   # the cluster, its log and socket live here; root writes the rest
URL="postgres://postgres@$NET.1:$PORT/gvpie"
TTL=4
SERVE_PID=""
cleanup() {
  set +e
  for n in 1 2; do
    for pid in $(ip netns pids "gvpie-h$n" 2>/dev/null); do kill -9 "$pid"; done
    ip netns del "gvpie-h$n" 2>/dev/null
    ip link del "gvpie-v$n" 2>/dev/null
  done
  [ -n "$SERVE_PID" ] && kill -TERM "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  [ -n "${CURL_PID:-}" ] && kill "$CURL_PID" 2>/dev/null
  ip link del gvpie-br 2>/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
  echo "logs: $WORK"
}
trap cleanup EXIT
fail() {
  echo "FAIL $*" >&2
  # What the database's sessions were doing (a lock held by a dead host's session shows here).
  psql "$URL" -c "SELECT pid, client_addr, state, wait_event_type, wait_event, now() - xact_start AS in_xact, left(query, 70) AS query FROM pg_stat_activity WHERE datname = 'gvpie'" >&2 2>/dev/null
  exit 1
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do [ "$SECONDS" -lt "$deadline" ] || fail "$what (waited $limit s)"; sleep 0.2; done
}

# The "LAN": a bridge on the database host, a veth pair per host namespace (after what an interrupted run left).
for n in 1 2; do ip netns del "gvpie-h$n" 2>/dev/null || true; ip link del "gvpie-v$n" 2>/dev/null || true; done
ip link del gvpie-br 2>/dev/null || true
ip link add gvpie-br type bridge
ip addr add "$NET.1/24" dev gvpie-br
ip link set gvpie-br up
for n in 1 2; do
  ip netns add "gvpie-h$n"
  ip link add "gvpie-v$n" type veth peer name "gvpie-p$n"
  ip link set "gvpie-v$n" master gvpie-br up
  ip link set "gvpie-p$n" netns "gvpie-h$n"
  ip -n "gvpie-h$n" addr add "$NET.1$n/24" dev "gvpie-p$n"
  ip -n "gvpie-h$n" link set "gvpie-p$n" up
  ip -n "gvpie-h$n" link set lo up
done
ip netns exec gvpie-h1 ip route get "$NET.1" >/dev/null || fail "host 1 has no route to the database host"
echo "ok   two host namespaces on a bridge ($NET.0/24)"

# The database server: listens on the bridge only; the hosts' network may connect.
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg" -A trust -U postgres >"$WORK/initdb.log" 2>&1
cat >>"$WORK/pg/postgresql.conf" <<EOF
listen_addresses = '$NET.1'
port = $PORT
unix_socket_directories = '$WORK'
# A dead host's session may be inside a transaction holding row locks (a claim's FOR UPDATE): with its cable
# pulled the server hears nothing, so without these its locks stay for hours (the kernel's 2 h keepalive) and
# the other agents skip the locked work instead of taking it over. docs/agents.md recommends the same.
idle_in_transaction_session_timeout = '${TTL}s'
tcp_keepalives_idle = 5
tcp_keepalives_interval = 2
tcp_keepalives_count = 3
EOF
echo "host all postgres $NET.0/24 trust" >>"$WORK/pg/pg_hba.conf"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/postgres.log" -w start >/dev/null
echo "ok   PostgreSQL on $NET.1:$PORT (listen_addresses, pg_hba.conf for $NET.0/24, idle_in_transaction_session_timeout, keepalives)"

# Scripts and a goal that lasts (both agents work on it, each on an island), then the UI server on the database
# host, then one agent per host.
for f in examples/*.pxl; do "$GVPIE" scripts add --db "$URL" "$(basename "$f" .pxl)" "$f" >/dev/null; done
"$GVPIE" goals add optimize starburst --db "$URL" --patience 100000000 --seconds 100000 >/dev/null
"$GVPIE" serve --db "$URL" --bind 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
wait_for 30 "gvpie serve announced its address" grep -q "http://" "$WORK/serve.out"
ADDR=$(grep -o "http://[0-9.:]*" "$WORK/serve.out" | head -1)
curl -sN "$ADDR/api/events" >"$WORK/events.txt" &
CURL_PID=$!
start_agent() {
  ip netns exec "gvpie-h$1" "$GVPIE" daemon --db "$URL" --agent "h$1-gpu0" --roles scripts,goals --lease-ttl "$TTL" \
    --interval 0 --no-self-goals --quiet --no-log-file >"$WORK/h$1.out" 2>"$WORK/h$1.err" &
}
# Agents claim a goal's lowest free island, and keep it from cycle to cycle. Host 1 starts first and works on
# island 0 (the goal itself), host 2 then on island 1: once host 1 is gone, island 0 is the one host 2 takes over.
h1_holds_island_0() { curl -s "$ADDR/api/agents" | grep -o '{[^}]*"name":"h1-gpu0"[^}]*}' | grep '"working_on":\["goal:1:0"' >/dev/null; }
start_agent 1
wait_for 60 "host 1 working on the goal's island 0" h1_holds_island_0
start_agent 2
committed() { [ "$("$GVPIE" agents --db "$URL" --json | grep -c '"executions": [1-9]')" -ge 2 ]; }
wait_for 60 "both agents committed executions" committed
echo "ok   an agent on each host commits through the bridge"
# (No grep -q after a pipe: under pipefail its early exit fails the pipeline.)
agent_event() { grep '^data: {"type":"agent"' "$WORK/events.txt" | grep "$1" >/dev/null; }
wait_for 30 "the stream announced the agents joining" agent_event '"event":"joined","agent":"h1-gpu0"'

# Host 1 dies while it works on a slice of island 0 (/api/agents shows the claims): every process in it killed, its
# cable pulled. Nothing tells the others.
wait_for 60 "host 1 holding a slice of island 0" h1_holds_island_0
before=$("$GVPIE" agents --db "$URL" --json | tr -d ' \n' | grep -o '{[^}]*"name":"h2-gpu0"[^}]*}' | grep -o '"executions":[0-9]*' | cut -d: -f2)
for pid in $(ip netns pids gvpie-h1); do kill -9 "$pid"; done
ip link del gvpie-v1
echo "ok   host 1 killed (SIGKILL) and cut off"
wait_for $((TTL * 5)) "host 1's agent reported stale" agent_event '"event":"left","agent":"h1-gpu0","state":"stale"'
echo "ok   after its TTL ($TTL s) the stream says h1-gpu0 left, stale"
wait_for $((TTL * 10)) "host 2 took host 1's goal slice over" agent_event '"event":"took_over","agent":"h2-gpu0".*"from":"h1-gpu0","work":"goal:'
echo "ok   h2-gpu0 took over $(grep -o '"event":"took_over"[^}]*"work":"goal:[^}]*' "$WORK/events.txt" | head -1 | grep -o '"work":"[^"]*","seq":[0-9]*')"
states=$("$GVPIE" agents --db "$URL" --json | tr -d ' \n')
grep -q '{[^}]*"name":"h1-gpu0"[^}]*"state":"stale"' <<<"$states" || fail "gvpie agents: $states"
grep -q '{[^}]*"name":"h2-gpu0"[^}]*"state":"alive"' <<<"$states" || fail "gvpie agents: $states"
after=$(echo "$states" | grep -o '{[^}]*"name":"h2-gpu0"[^}]*}' | grep -o '"executions":[0-9]*' | cut -d: -f2)
[ "$after" -gt "$before" ] || fail "h2-gpu0 stopped committing ($before → $after)"
echo "ok   gvpie agents: h1-gpu0 stale, h2-gpu0 alive and still committing ($before → $after executions)"
echo "all netns checks passed"
