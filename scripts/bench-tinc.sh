#!/usr/bin/env bash
# make bench-tinc: the tinc collector's parse time on a 64-node dump fixture, and in a
# three-node lab its dump time and scrape cost, next to a plain `kill -USR2` plus reading
# the log for the same tincd in the same run. Needs root (the lab).
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=${AGENT:-.build/release/bgpmesh-agent}
LAB=${LAB:-.build/release/bgpmesh-lab}
STATE=${BGPMESH_LAB_STATE:-$PWD/.lab}
FIXTURE=Tests/TincControlTests/Fixtures/tinc10-64-nodes-full-mesh.generated-from-captured-format.log
ROUNDS=${ROUNDS:-5}

[ "$(id -u)" -eq 0 ] || { echo "bench-tinc: needs root (the lab)" >&2; exit 1; }
for f in "$AGENT" "$LAB"; do [ -x "$f" ] || { echo "bench-tinc: $f missing (run: make build)" >&2; exit 1; }; done

echo "== bench-tinc: 64-node dump fixture ($(stat -c %s "$FIXTURE") bytes)"
"$AGENT" parse-tinc-log --repeat 20 "$FIXTURE" 2>&1 >/dev/null | sed 's/^/  agent /'
s=$(date +%s%N); for _ in $(seq 20); do grep -c "" "$FIXTURE" >/dev/null; done; e=$(date +%s%N)
awk -v ns=$((e - s)) 'BEGIN {printf "  reference: reading the same log with grep -c, mean %.2f ms\n", ns / 20 / 1e6}'

cleanup() { "$LAB" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$LAB" down >/dev/null 2>&1 || true
"$LAB" up --nodes 3 --agent-binary "$AGENT" >/dev/null
"$LAB" wait converged --timeout 120 --quiet >/dev/null

node1_metric() { "$LAB" exec node1 -- curl -fsS "http://192.0.2.1:10179/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
pid=$(cat "$STATE/node1/run/tincd.pid")
log="$STATE/node1/log/tincd.log"
lock="$STATE/node1/run/tincd.signal.lock"

echo "== bench-tinc: three-node lab, node1's tincd (pid $pid), $ROUNDS rounds"
agent_t=(); plain_t=(); scrape_t=()
for round in $(seq "$ROUNDS"); do
    # The agent dumps every 5 s by itself; wait for a fresh one and take its duration.
    before=$(node1_metric tinc_dump_age_seconds); sleep 1
    for _ in $(seq 100); do
        age=$(node1_metric tinc_dump_age_seconds)
        awk -v a="$age" -v b="$before" 'BEGIN {exit !(a < b)}' && break
        before=$age; sleep 0.2
    done
    agent_t+=("$(node1_metric tinc_dump_duration_seconds)")
    scrape_t+=("$(node1_metric 'bgpmesh_scrape_collector_duration_seconds{collector="tinc"}')")
    # The reference: USR2 and read the log until the dump's last line, under the lock
    # the agent and the lab use, so the two never signal tincd at the same time.
    plain_t+=("$(flock "$lock" bash -c '
        offset=$(stat -c %s "$1"); s=$(date +%s%N); kill -USR2 "$2"
        for _ in $(seq 500); do tail -c +$((offset + 1)) "$1" | grep -q "End of subnet list." && break; sleep 0.01; done
        e=$(date +%s%N); awk -v ns=$((e - s)) "BEGIN {print ns / 1e9}"' _ "$log" "$pid")")
    sleep 1
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
awk -v a="$(median "${agent_t[@]}")" -v p="$(median "${plain_t[@]}")" -v s="$(median "${scrape_t[@]}")" 'BEGIN {
    printf "  agent dump (USR2 + USR1, paced, read and parsed): median %.1f ms\n", a * 1000
    printf "  plain kill -USR2 + reading the log:               median %.1f ms\n", p * 1000
    printf "  ratio agent dump / plain USR2:                    %.2f\n", a / p
    printf "  tinc collector per scrape (reads the last dump):  median %.2f ms\n", s * 1000
    printf "  (the agent waits for a quiet log and spaces USR2 and USR1 by 1 s, because tinc 1.0\n"
    printf "   logs from its signal handlers; it does so in the background, never in a scrape)\n"
}'
