#!/usr/bin/env bash
# Static checks of deploy/ (make test): ansible-lint and a syntax check of the Ansible role and its
# sample playbook, and `systemd-analyze verify` of the agent's unit. DeployTests (swift test) runs
# the same checks; the lab's LabJoinTests runs the role for real.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in ansible-lint ansible-playbook systemd-analyze; do
  command -v "$tool" >/dev/null || { echo "check-deploy: $tool is missing; run scripts/install-deps.sh (group deploy)" >&2; exit 1; }
done
(cd deploy/ansible && ansible-lint --offline -q && ansible-playbook --syntax-check -i inventory.example playbook.yml >/dev/null)
echo "check-deploy: ansible-lint and syntax check passed (deploy/ansible)"
# verify wants ExecStart's binary to exist: check a copy that runs the debug build instead.
agent=${BGPMESH_AGENT_BINARY:-$PWD/.build/debug/bgpmesh-agent}
[ -x "$agent" ] || { echo "check-deploy: $agent not built (swift build)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|^ExecStart=/usr/local/bin/bgpmesh-agent |ExecStart=$agent |" deploy/systemd/bgpmesh-agent.service > "$tmp/bgpmesh-agent.service"
out=$(systemd-analyze verify "$tmp/bgpmesh-agent.service" 2>&1) || { echo "$out" >&2; exit 1; }
# Unknown or misspelt directives are only warnings to verify: any output fails the check.
[ -z "$out" ] || { echo "check-deploy: systemd-analyze verify: $out" >&2; exit 1; }
echo "check-deploy: systemd-analyze verify passed (deploy/systemd/bgpmesh-agent.service)"
