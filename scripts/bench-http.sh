#!/usr/bin/env bash
# make bench-http: the agent's HTTP server against bird_exporter's (Go net/http),
# both serving their landing page `/` on loopback, measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."

AGENT=${AGENT:-.build/release/bgpmesh-agent}
BIRD_EXPORTER=${BIRD_EXPORTER:-$(command -v prometheus-bird-exporter || true)}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
AGENT_ADDR=127.0.0.1:${AGENT_PORT:-20179}
REF_ADDR=127.0.0.1:${REF_PORT:-20324}

for tool in wrk "$BIRD_EXPORTER" "$AGENT"; do
    [ -n "$tool" ] && command -v "$tool" >/dev/null || { echo "bench-http: missing $tool (run: make deps build)" >&2; exit 1; }
done

ulimit -n 65536 2>/dev/null || ulimit -n 8192
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"$BIRD_EXPORTER" -web.listen-address "$REF_ADDR" -bird.socket /nonexistent/bird.ctl -bird.v2 >/dev/null 2>&1 &
ref_pid=$!; pids+=("$ref_pid")
"$AGENT" run --web.listen-address "$AGENT_ADDR" --no-collector.bird --no-collector.probe --no-collector.tinc --log.level warning &
agent_pid=$!; pids+=("$agent_pid")

wait_up() { for _ in $(seq 100); do curl -fsS -o /dev/null "http://$1/" 2>/dev/null && return 0; sleep 0.1; done; echo "bench-http: $1 did not come up" >&2; exit 1; }
wait_up "$AGENT_ADDR"; wait_up "$REF_ADDR"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
rps() { wrk "$@" | awk '/^Requests\/sec/ {print $2}'; }

# Warm both up (page cache, Go's GC, first-touch of the agent's buffers).
wrk -t2 -c16 -d2s "http://$AGENT_ADDR/" >/dev/null; wrk -t2 -c16 -d2s "http://$REF_ADDR/" >/dev/null
agent_idle=$(rss_kib "$agent_pid"); ref_idle=$(rss_kib "$ref_pid")

agent_runs=(); ref_runs=(); agent_peak=0
for round in $(seq "$ROUNDS"); do
    # Sample the agent's RSS while it is under load.
    ( peak=0; for _ in $(seq 100); do r=$(rss_kib "$agent_pid" 2>/dev/null || echo 0); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.1; done; echo "$peak" > /tmp/bgpmesh-bench-peak.$$ ) &
    sampler=$!
    a=$(rps -t2 -c64 -d"$DURATION" "http://$AGENT_ADDR/")
    wait "$sampler"; p=$(cat /tmp/bgpmesh-bench-peak.$$); rm -f /tmp/bgpmesh-bench-peak.$$
    [ "$p" -gt "$agent_peak" ] && agent_peak=$p
    b=$(rps -t2 -c64 -d"$DURATION" "http://$REF_ADDR/")
    agent_runs+=("$a"); ref_runs+=("$b")
    printf 'round %d: agent %10.0f req/s   bird_exporter %10.0f req/s\n' "$round" "$a" "$b"
done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
am=$(median "${agent_runs[@]}"); bm=$(median "${ref_runs[@]}")

errors() { wrk -t2 -c1000 -d5s "http://$1/" | awk '/Socket errors/ {sub(/^ *Socket errors: */, ""); print; f=1} END {if (!f) print "none"}'; }
agent_err=$(errors "$AGENT_ADDR"); ref_err=$(errors "$REF_ADDR")
refused=$(curl -fsS "http://$AGENT_ADDR/metrics" | awk '/^bgpmesh_http_requests_total\{code="503"/ {s+=$2} END {print s+0}')

echo
echo "== bench-http: wrk -t2 -c64 -d$DURATION on /, $ROUNDS rounds each, alternating =="
printf 'agent          median %10.0f req/s\n' "$am"
printf 'bird_exporter  median %10.0f req/s\n' "$bm"
awk -v a="$am" -v b="$bm" 'BEGIN {printf "ratio agent / bird_exporter: %.2f (goal >= 1.0)\n", a/b}'
echo "agent RSS idle: $((agent_idle / 1024)) MiB ($agent_idle KiB, goal <= 15 MiB); peak under load: $((agent_peak / 1024)) MiB"
echo "bird_exporter RSS idle: $((ref_idle / 1024)) MiB"
echo "wrk -c1000 socket errors: agent: $agent_err; bird_exporter: $ref_err; agent 503 refusals counted: $refused"
