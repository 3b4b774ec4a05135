#!/usr/bin/env bash
# make demo: install the Debian packages if missing, build in release mode, bring up the
# three-node lab, wait until it converges and print the status and where to look.
# make demo-down (lab/demo.sh down): tear it down. Needs root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${NODES:-3}
LAB=.build/release/bgpmesh-lab

if [ "$(id -u)" -ne 0 ]; then echo "demo: needs root (network namespaces, tun devices)" >&2; exit 1; fi
if [ "${1:-up}" = down ]; then
  if [ -x "$LAB" ]; then exec "$LAB" down; fi
  echo "demo: $LAB not built; nothing to tear down" >&2; exit 0
fi

bash scripts/install-deps.sh
swift build -c release --static-swift-stdlib --product bgpmesh-agent
swift build -c release --static-swift-stdlib --product bgpmesh-lab
"$LAB" down >/dev/null
"$LAB" up --nodes "$NODES"
"$LAB" wait converged --timeout 180
echo
echo "Faults to try (node2's agent restarts the daemon itself within seconds; watch it with"
echo "                 $LAB status   and   curl -s 127.0.0.1:20102/api/v1/status):"
echo "                 $LAB fault kill-bird node2     $LAB fault kill-tincd node2"
echo "                 $LAB fault pause-tincd node2   (a hung tincd: killed and started again by the agent)"
echo "                 $LAB fault --help              (every fault and its undo; $LAB fault heal-all undoes them all)"
echo "Tear down with:  make demo-down"
