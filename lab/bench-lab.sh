#!/usr/bin/env bash
# make bench-lab: bring the lab up with 3, 8 and 16 nodes (--keys manual) and print, for each,
# the cold-start time (up -> converged) and the resident memory of every process kind summed
# over all nodes. Needs root. Usage: lab/bench-lab.sh [N ...]
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=${BGPMESH_LAB:-.build/release/bgpmesh-lab}
AGENT=${BGPMESH_AGENT_BINARY:-.build/release/bgpmesh-agent}
STATE=${BGPMESH_LAB_STATE:-$PWD/.lab}
SIZES=("$@"); [ ${#SIZES[@]} -eq 0 ] && SIZES=(3 8 16)

if [ "$(id -u)" -ne 0 ]; then echo "bench-lab: needs root (network namespaces)" >&2; exit 1; fi
if [ ! -x "$LAB" ]; then echo "bench-lab: $LAB missing; run: swift build -c release" >&2; exit 1; fi
agent_args=(--agent-binary "$AGENT")
if [ ! -x "$AGENT" ]; then
  echo "bench-lab: WARNING: $AGENT missing, benchmarking WITHOUT agents" >&2
  agent_args=(--no-agents)
fi

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# Sum VmRSS per process kind from the lab's pidfiles.
memory_table() {
  declare -A sum count
  for f in "$STATE"/node*/run/*.pid "$STATE"/mon/run/*.pid; do
    [ -e "$f" ] || continue
    kind=$(basename "$f" .pid)
    pid=$(cat "$f" 2>/dev/null || true)
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || continue
    sum[$kind]=$(( ${sum[$kind]:-0} + $(rss_kb "$pid") ))
    count[$kind]=$(( ${count[$kind]:-0} + 1 ))
  done
  total=0
  for kind in tincd bird etcd agent prometheus alertmanager; do
    [ -n "${sum[$kind]:-}" ] || continue
    printf '    %-13s %3d processes  %8.1f MiB\n' "$kind" "${count[$kind]}" "$(awk -v k="${sum[$kind]}" 'BEGIN{print k/1024}')"
    total=$(( total + ${sum[$kind]} ))
  done
  printf '    %-13s                %8.1f MiB\n' "total" "$(awk -v k="$total" 'BEGIN{print k/1024}')"
}

mkdir -p "$STATE"; "$LAB" down --state-dir "$STATE" >/dev/null
trap '"$LAB" down --state-dir "$STATE" >/dev/null 2>&1 || true' EXIT
summary=()
for n in "${SIZES[@]}"; do
  echo "== bench-lab: $n nodes"
  start=$(date +%s.%N)
  "$LAB" up --state-dir "$STATE" --nodes "$n" --keys manual "${agent_args[@]}" --no-forward > "$STATE/bench-up.log"
  up_done=$(date +%s.%N)
  "$LAB" wait converged --state-dir "$STATE" --timeout $(( 60 + 10 * n )) --quiet
  end=$(date +%s.%N)
  sleep 2   # let the agents and Prometheus reach a steady state before measuring memory
  up_s=$(awk -v a="$up_done" -v b="$start" 'BEGIN{print a-b}'); conv_s=$(awk -v a="$end" -v b="$start" 'BEGIN{print a-b}')
  printf '  up: %.1f s, cold start to converged: %.1f s\n' "$up_s" "$conv_s"
  echo "  memory (VmRSS summed per kind):"
  memory_table
  summary+=("$(printf '%3d nodes: converged in %6.1f s' "$n" "$conv_s")")
  "$LAB" down --state-dir "$STATE" >/dev/null
done
echo "== bench-lab summary"
printf '  %s\n' "${summary[@]}"
