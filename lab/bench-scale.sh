#!/usr/bin/env bash
# make bench-scale: the lab at 16, 32 and 64 nodes (full mesh) and with 2 route reflectors at 32 and
# 64 nodes. For each: time from `up` to converged (and how much of it is tinc key generation), the
# agents' resident memory (total, mean and largest, VmRSS from /proc of the agent pids), the agents'
# CPU seconds per minute at steady state (utime + stime from /proc/<pid>/stat over a window, scaled
# to a minute), BGP sessions per node (birdc on a reflector and on a client), etcd requests per node
# per minute (grpc_server_started_total of every etcd member over the same window, which counts the
# agents' JSON gateway calls, over the node count), and the time for one added node
# (`bgpmesh-lab add-node`) to converge. Then issue 15's goals against the largest reflector case.
#
# Needs root; one lab at a time (hold /tmp/bgpmesh-lab.lock around it on a shared machine).
# Always takes its lab down (trap), and gives up on a case at its deadline.
#
# Environment:
#   BENCH_SCALE_CASES   cases as NODES:TOPOLOGY (default "16:full 32:full 64:full 32:reflectors 64:reflectors")
#   BENCH_SCALE_QUICK=1 a quick check: "4:full 6:reflectors" and a 15 s window
#   BENCH_SCALE_KEYS    agent (default: the agents write the BGP peers from the registry) or manual
#   BENCH_SCALE_WINDOW  steady-state window in seconds (default 60)
#   BENCH_SCALE_SETTLE  seconds between convergence and the window (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=${BGPMESH_LAB:-.build/release/bgpmesh-lab}
AGENT=${BGPMESH_AGENT_BINARY:-.build/release/bgpmesh-agent}
STATE=${BGPMESH_LAB_STATE:-$PWD/.lab}
KEYS=${BENCH_SCALE_KEYS:-agent}
WINDOW=${BENCH_SCALE_WINDOW:-60}
SETTLE=${BENCH_SCALE_SETTLE:-20}
CASES=${BENCH_SCALE_CASES:-"16:full 32:full 64:full 32:reflectors 64:reflectors"}
if [ "${BENCH_SCALE_QUICK:-0}" = 1 ]; then
  CASES=${BENCH_SCALE_CASES:-"4:full 6:reflectors"}
  WINDOW=${BENCH_SCALE_WINDOW:-15}
  SETTLE=${BENCH_SCALE_SETTLE:-5}
fi
REFLECTORS=2
HZ=$(getconf CLK_TCK)

if [ "$(id -u)" -ne 0 ]; then echo "bench-scale: needs root (network namespaces)" >&2; exit 1; fi
for b in "$LAB" "$AGENT"; do
  if [ ! -x "$b" ]; then echo "bench-scale: $b missing; run: make build" >&2; exit 1; fi
done
case "$KEYS" in agent|manual) ;; *) echo "bench-scale: BENCH_SCALE_KEYS must be agent or manual" >&2; exit 1 ;; esac

mkdir -p "$STATE"; "$LAB" down --state-dir "$STATE" >/dev/null
tmp=$(mktemp -d /tmp/bench-scale.XXXXXX)
trap '"$LAB" down --state-dir "$STATE" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
# A signal ends the run through the EXIT trap, so the lab goes down then too.
trap 'exit 130' INT TERM HUP

now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

agent_pids() { for f in "$STATE"/node*/run/agent.pid; do [ -e "$f" ] && cat "$f"; done; }

# "total_kib mean_kib max_kib count" over the running agents.
agent_rss() {
  for p in $(agent_pids); do awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null; done |
    awk '{ s += $1; if ($1 > m) m = $1; c++ } END { printf "%d %d %d %d", s, (c ? s / c : 0), m, c }'
}

# Clock ticks (utime + stime) summed over the running agents.
agent_ticks() {
  for p in $(agent_pids); do
    # Fields after the ")" of the command name: utime and stime are the 12th and 13th.
    sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }'
  done | awk '{ s += $1 } END { printf "%d", s }'
}

# gRPC calls etcd's members have started (the agents reach etcd through its JSON gateway, whose
# calls go through etcd's own gRPC server).
etcd_calls() {
  for i in 1 2 3; do
    ip netns exec bml-mon curl -s --max-time 5 "http://192.0.2.$i:12379/metrics" || true
  done | awk '/^grpc_server_started_total/ { s += $NF } END { printf "%d", s }'
}

# Established BGP sessions of one node, by birdc.
sessions() {
  ip netns exec "bml-n$1" birdc -s "$STATE/node$1/bird/bird.ctl" show protocols 2>/dev/null |
    awk '$2 == "BGP" && $4 == "up" && / Established/ { c++ } END { printf "%d", c }'
}

# Seconds between two progress lines of `up` ("[   12.3s] message"), by the text they start with.
up_gap() {
  awk -v a="$2" -v b="$3" '
    function t(l) { sub(/^\[ */, "", l); sub(/s\].*$/, "", l); return l + 0 }
    index($0, a) && !ta { ta = t($0) } index($0, b) && !tb { tb = t($0) }
    END { if (ta && tb) printf "%.1f", tb - ta; else printf "?" }' "$1"
}

rows=()
goal_line=""
bench_start=$(now)
echo "== bench-scale: cases $CASES; keys $KEYS; steady-state window $WINDOW s after $SETTLE s"
echo "   agent $AGENT, lab $LAB"
for c in $CASES; do
  n=${c%%:*}; topo=${c#*:}
  extra=(); label="full mesh"
  if [ "$topo" = reflectors ]; then extra=(--reflectors "$REFLECTORS"); label="$REFLECTORS reflectors"; fi
  echo "== $n nodes, $label"
  "$LAB" down --state-dir "$STATE" >/dev/null
  start=$(now)
  if ! timeout $(( 120 + 6 * n )) "$LAB" up --state-dir "$STATE" --nodes "$n" --keys "$KEYS" --topology "$topo" "${extra[@]}" \
       --agent-binary "$AGENT" --no-forward > "$tmp/up.$c.log" 2>&1; then
    echo "  up FAILED:"; tail -3 "$tmp/up.$c.log" | sed 's/^/    /'
    rows+=("$(printf '%5d %-13s up failed' "$n" "$label")"); continue
  fi
  up_s=$(since "$start")
  keygen=$(up_gap "$tmp/up.$c.log" "underlay: bridge" "keys generated")
  if ! timeout $(( 90 + 4 * n )) "$LAB" wait converged --state-dir "$STATE" --quiet > "$tmp/wait.$c.log" 2>&1; then
    echo "  did not converge:"; tail -3 "$tmp/wait.$c.log" | cut -c1-400 | sed 's/^/    /'
    rows+=("$(printf '%5d %-13s not converged (up took %s s)' "$n" "$label" "$up_s")"); continue
  fi
  conv=$(since "$start")
  echo "  up $up_s s (tinc keys $keygen s), converged $conv s after up started"

  s_first=$(sessions 1); s_last=$(sessions "$n")
  if [ "$topo" = reflectors ]; then bgp="$s_first refl, $s_last client"; else bgp="$s_first"; fi

  sleep "$SETTLE"   # steady state: the bring-up's work (first dumps, first records) is done
  t0=$(now); ticks0=$(agent_ticks); etcd0=$(etcd_calls)
  sleep "$WINDOW"
  ticks1=$(agent_ticks); etcd1=$(etcd_calls); t1=$(now)
  read -r rss_total rss_mean rss_max agents <<< "$(agent_rss)"
  cpu=$(awk -v a="$ticks0" -v b="$ticks1" -v hz="$HZ" -v t0="$t0" -v t1="$t1" -v n="$agents" 'BEGIN {
    s = (b - a) / hz * 60 / (t1 - t0); printf "%.2f %.3f %.1f", s, (n ? s / n : 0), s / 60 * 100 }')
  read -r cpu_total cpu_per cpu_pct <<< "$cpu"
  etcd=$(awk -v a="$etcd0" -v b="$etcd1" -v t0="$t0" -v t1="$t1" -v n="$n" 'BEGIN { printf "%.0f", (b - a) * 60 / (t1 - t0) / n }')
  echo "  agents: RSS $((rss_total / 1024)) MiB total, $((rss_mean / 1024)) MiB mean, $((rss_max / 1024)) MiB max;" \
       "CPU $cpu_total s/min in all ($cpu_pct % of a core), $cpu_per s/min each; etcd $etcd calls/node/min; BGP sessions $bgp"

  add_start=$(now)
  if timeout 120 "$LAB" add-node --state-dir "$STATE" > "$tmp/add.$c.log" 2>&1 &&
     timeout 150 "$LAB" wait converged --state-dir "$STATE" --quiet --timeout 120 > "$tmp/addwait.$c.log" 2>&1; then
    add=$(since "$add_start")
  else
    add="failed"; tail -2 "$tmp/add.$c.log" "$tmp/addwait.$c.log" 2>/dev/null | cut -c1-300 | sed 's/^/    /'
  fi
  echo "  add-node: node$((n + 1)) converged after $add s"
  rows+=("$(printf '%5d %-13s %8s %7s %8d %6d/%-4d %9s %6s %6s %16s %9s %9s' "$n" "$label" "$conv" "$keygen" \
           "$((rss_total / 1024))" "$((rss_mean / 1024))" "$((rss_max / 1024))" "$cpu_total" "$cpu_pct" "$cpu_per" "$bgp" "$etcd" "$add")")
  if [ "$topo" = reflectors ]; then
    goal_line=$(awk -v n="$n" -v conv="$conv" -v add="$add" -v rss="$((rss_max / 1024))" -v pct="$cpu_pct" 'BEGIN {
      ok1 = conv < 90; ok2 = (add != "failed" && add < 15); ok3 = rss <= 20; ok4 = pct < 10
      printf "  %d nodes, 2 reflectors: cold start %s s (goal < 90: %s), added node %s s (goal < 15: %s), largest agent %d MiB (goal <= 20: %s), agents %s %% of a core (goal < 10: %s)",
        n, conv, ok1 ? "met" : "MISSED", add, ok2 ? "met" : "MISSED", rss, ok3 ? "met" : "MISSED", pct, ok4 ? "met" : "MISSED" }')
  fi
  "$LAB" down --state-dir "$STATE" >/dev/null
done

echo "== bench-scale summary (keys $KEYS; $(nproc) cores; whole run $(since "$bench_start") s)"
printf '%5s %-13s %8s %7s %8s %11s %9s %6s %6s %16s %9s %9s\n' "nodes" "topology" "conv s" "keys s" \
  "RSS MiB" "mean/max" "CPU s/min" "%core" "/agent" "BGP sessions" "etcd/n/m" "add s"
for r in "${rows[@]}"; do echo "$r"; done
echo "  conv s: up -> converged, of which keys s is tinc key generation; RSS of the agents; CPU of the agents"
echo "  (utime+stime) per minute at steady state; etcd/n/m: etcd gRPC calls per node per minute; add s: add-node -> converged"
if [ -n "$goal_line" ]; then echo "== goals (issue 15)"; echo "$goal_line"; fi
