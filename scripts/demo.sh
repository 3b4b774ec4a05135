#!/usr/bin/env bash
# make demo / make demo-down: the agent on its own, serving its self-metrics on
# 127.0.0.1:10179. (The full namespace lab replaces this once it exists.)
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=.lab/demo
ADDR=${DEMO_ADDR:-127.0.0.1:10179}
mkdir -p "$STATE"

stop() {
    if [ -f "$STATE/agent.pid" ] && kill -0 "$(cat "$STATE/agent.pid")" 2>/dev/null; then
        kill -TERM "$(cat "$STATE/agent.pid")"
        for _ in $(seq 50); do kill -0 "$(cat "$STATE/agent.pid")" 2>/dev/null || break; sleep 0.1; done
        echo "demo: agent stopped"
    else
        echo "demo: nothing running"
    fi
    rm -f "$STATE/agent.pid"
}

if [ "${1:-up}" = down ]; then stop; exit 0; fi
stop >/dev/null
start=$(date +%s.%N)
nohup .build/release/bgpmesh-agent run --web.listen-address "$ADDR" >"$STATE/agent.log" 2>&1 &
echo $! > "$STATE/agent.pid"
for _ in $(seq 100); do
    if curl -fsS "http://$ADDR/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.1
done
curl -fsS "http://$ADDR/readyz" >/dev/null || { echo "demo: agent not ready; log:"; cat "$STATE/agent.log"; exit 1; }
awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "demo: agent ready in %.2fs\n\n", e - s}'
curl -fsS "http://$ADDR/metrics" | grep -v '^#' | head -20
cat <<MSG

Where to look:
  metrics     http://$ADDR/metrics
  status      http://$ADDR/
  health      http://$ADDR/healthz   readiness http://$ADDR/readyz
  log         $STATE/agent.log
Stop it with: make demo-down
MSG
