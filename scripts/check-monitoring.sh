#!/usr/bin/env bash
# Static checks of the monitoring bundle and the Docker stack (part of `make test`, about 40 s):
# the generated rules match their source, promtool check config / check rules, amtool check-config,
# check-monitoring.py --defects (the rule tests, the defect tests both ways, routing and inhibition
# per fault, dashboards, targets; it names any defect of the first bundle that a check fails to
# find), docker/agent.yml through `bgpmesh-agent check-config` (when a build exists), and
# check-docker.sh. Stops at the first failure, naming it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS=0
step() {
  local name=$1; shift
  local out
  if ! out=$("$@" 2>&1); then
    echo "$out" >&2
    echo "check-monitoring: FAILED: $name ($*)" >&2
    exit 1
  fi
  echo "check-monitoring: ok: $name"
}
for tool in promtool amtool python3; do
  command -v "$tool" >/dev/null || { echo "check-monitoring: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
step "rules match prometheus/src (generate-rules.py)" python3 prometheus/generate-rules.py --check
step "promtool check config" promtool check config prometheus/prometheus.yml
step "promtool check rules" promtool check rules prometheus/rules/bgpmesh.rules.yml
step "amtool check-config" amtool check-config prometheus/alertmanager.yml
step "dashboards match grafana/dashboards.py" python3 grafana/dashboards.py --check
step "rule tests, defect tests both ways, routing, inhibition, dashboards, targets" python3 scripts/check-monitoring.py --defects
agent=${BGPMESH_AGENT_BINARY:-}
for b in .build/debug/bgpmesh-agent .build/release/bgpmesh-agent; do
  [ -z "$agent" ] && [ -x "$b" ] && agent=$b
done
if [ -n "$agent" ]; then
  step "bgpmesh-agent check-config docker/agent.yml" "$agent" check-config --config.file docker/agent.yml
else
  echo "*** check-monitoring: SKIPPED: docker/agent.yml check (no bgpmesh-agent built yet) ***"
fi
step "docker (compose config, entrypoint render, bird -p, tincd)" bash scripts/check-docker.sh
echo "check-monitoring: all passed in ${SECONDS} s"
