#!/usr/bin/env bash
# make bench-keys: time from `up` to converged with --keys agent (the agents distribute tinc
# keys and ConnectTo through etcd) next to --keys manual (the lab copies them), for 3, 8 and
# 16 nodes in the same run, and the time of one join (`add-node` to converged) on each; then,
# with --keys agent at steady state, the etcd requests each agent sends per minute, by
# operation. Needs root. Usage: lab/bench-keys.sh [N ...]
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=${BGPMESH_LAB:-.build/release/bgpmesh-lab}
AGENT=${BGPMESH_AGENT_BINARY:-.build/release/bgpmesh-agent}
STATE=${BGPMESH_LAB_STATE:-$PWD/.lab}
WINDOW=${BENCH_KEYS_WINDOW:-30}   # seconds of steady state sampled for the request rate
SIZES=("$@"); [ ${#SIZES[@]} -eq 0 ] && SIZES=(3 8 16)

if [ "$(id -u)" -ne 0 ]; then echo "bench-keys: needs root (network namespaces)" >&2; exit 1; fi
for b in "$LAB" "$AGENT"; do
  if [ ! -x "$b" ]; then echo "bench-keys: $b missing; run: make build" >&2; exit 1; fi
done

# Sum of bgpmesh_etcd_request_duration_seconds_count per op over every agent: "op count" lines.
etcd_requests() {
  local n=$1
  for i in $(seq 1 "$n"); do
    ip netns exec bml-mon curl -s --max-time 3 "http://192.0.2.$i:10179/metrics" || true
  done | awk -F'[{}"]' '/^bgpmesh_etcd_request_duration_seconds_count\{/ { split($0, v, " "); c[$3] += v[length(v)] }
                        END { for (op in c) print op, c[op] }' | sort
}

join_time() {  # nodes -> prints seconds from add-node to converged with one node more
  local n=$1 start end
  start=$(date +%s.%N)
  "$LAB" add-node --state-dir "$STATE" > "$STATE/bench-keys-add.log"
  "$LAB" wait converged --state-dir "$STATE" --timeout $(( 60 + 10 * n )) --quiet > /dev/null
  end=$(date +%s.%N)
  awk -v a="$end" -v b="$start" 'BEGIN{printf "%.1f", a-b}'
}

converge() {  # mode nodes -> prints seconds
  local mode=$1 n=$2 start end
  start=$(date +%s.%N)
  "$LAB" up --state-dir "$STATE" --nodes "$n" --keys "$mode" --agent-binary "$AGENT" --no-forward > "$STATE/bench-keys-up.log"
  "$LAB" wait converged --state-dir "$STATE" --timeout $(( 60 + 10 * n )) --quiet > /dev/null
  end=$(date +%s.%N)
  awk -v a="$end" -v b="$start" 'BEGIN{printf "%.1f", a-b}'
}

mkdir -p "$STATE"; "$LAB" down --state-dir "$STATE" >/dev/null
trap '"$LAB" down --state-dir "$STATE" >/dev/null 2>&1 || true' EXIT
rows=()
for n in "${SIZES[@]}"; do
  echo "== bench-keys: $n nodes"
  agent_s=$(converge agent "$n")
  echo "  --keys agent:  up -> converged in $agent_s s"
  sleep 5
  before=$(etcd_requests "$n"); sleep "$WINDOW"; after=$(etcd_requests "$n")
  rates=$(join -a2 -e0 -o 0,1.2,2.2 <(echo "$before") <(echo "$after") |
          awk -v n="$n" -v w="$WINDOW" '{ r = ($3 - $2) * 60 / w / n; t += r; printf "%s=%.1f ", $1, r } END { printf "| total=%.1f", t }')
  echo "  etcd requests per node per minute (steady state, ${WINDOW}s sample): $rates"
  agent_join=$(join_time "$n")
  echo "  --keys agent:  add-node -> converged in $agent_join s"
  "$LAB" down --state-dir "$STATE" >/dev/null
  manual_s=$(converge manual "$n")
  echo "  --keys manual: up -> converged in $manual_s s"
  manual_join=$(join_time "$n")
  echo "  --keys manual: add-node -> converged in $manual_join s"
  "$LAB" down --state-dir "$STATE" >/dev/null
  rows+=("$(printf '%3d nodes   up: agent %6.1f s  manual %6.1f s   join: agent %6.1f s  manual %6.1f s   etcd req/node/min: %s' \
    "$n" "$agent_s" "$manual_s" "$agent_join" "$manual_join" "$rates")")
done
echo "== bench-keys summary"
printf '  %s\n' "${rows[@]}"
