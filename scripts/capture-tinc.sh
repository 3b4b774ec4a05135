#!/usr/bin/env bash
# Captures the TincControl fixtures from real tincd 1.0.36 in the bgpmesh lab (3 nodes):
# SIGUSR2/SIGUSR1 dumps as raw log excerpts (timestamps and `tinc.bgpmesh[pid]:` prefixes kept),
# node1's tinc.conf and host files (public keys only), and node1's /sys/class/net/tinc0.
# Run as root on a machine with the lab's packages; it brings the lab down when it ends.
#
# tinc 1.0.36 logs from inside its signal handlers (process.c, empty sa_mask): a second signal
# that lands while the first handler writes can deadlock tincd. So every signal here takes the
# lab's own lock (run/tincd.signal.lock), waits for the handler's last line, and keeps 1 s spacing.
set -euo pipefail
cd "$(dirname "$0")/.."

LAB=${LAB:-.build/release/bgpmesh-lab}
AGENT=${AGENT:-.build/release/bgpmesh-agent}
OUT=${OUT:-Tests/TincControlTests/Fixtures}
STATE=.lab
mkdir -p "$OUT/sys-class-net-tinc0/statistics" "$OUT/node1-tinc/hosts"

# `capture-tinc.sh generate-64`: writes the generated 64-node fixture for the parse timing,
# from the captured 1.0.36 line formats (full mesh: 64 nodes, 4032 edges, 192 subnets).
if [ "${1:-}" = "generate-64" ]; then
    python3 - "$OUT/tinc10-64-nodes-full-mesh.generated-from-captured-format.log" <<'PY'
import random, sys
random.seed(64)
n = 64
pid = 4711
pre = lambda t: "2026-11-30 09:00:%02d tinc.bgpmesh[%d]: " % (t, pid)
L = []
L.append(pre(0) + "Statistics for Linux tun/tap device (tap mode) /dev/net/tun:")
L.append(pre(0) + " total bytes in:     9214832")
L.append(pre(0) + " total bytes out:   10044211")
L.append(pre(0) + "Nodes:")
names = ["node%d" % i for i in range(1, n + 1)]
for i, name in enumerate(sorted(names)):
    idx = int(name[4:])
    if name == "node1":
        L.append(pre(0) + " node1 at MYSELF cipher 0 digest 0 maclength 0 compression 0 options c status 0018 nexthop node1 via node1 pmtu 1518 (min 0 max 1518)")
    else:
        p = random.choice([1451, 1451, 1451, 1463, 1518])
        L.append(pre(0) + " %s at 192.0.2.%d port 655 cipher 427 digest 672 maclength 4 compression 0 options c status 001a nexthop %s via %s pmtu %d (min %d max %d)" % (name, idx, name, name, p, p, p))
L.append(pre(0) + "End of nodes.")
L.append(pre(0) + "Edges:")
for a in sorted(names):
    for b in sorted(names):
        if a != b:
            L.append(pre(1) + " %s to %s at 192.0.2.%d port 655 options c weight %d" % (a, b, int(b[4:]), random.randint(3, 9)))
L.append(pre(1) + "End of edges.")
L.append(pre(1) + "Subnet list:")
subnets = []
for name in names:
    idx = int(name[4:])
    mac = [2, idx, random.randint(0, 255), random.randint(0, 255), random.randint(0, 255), random.randint(0, 255)]
    subnets.append((":".join("%x" % x for x in mac) + "#10", name))
    subnets.append(("198.51.100.%d/32#10" % idx, name))
    subnets.append(("2001:db8:0:0:0:0:0:%x/128#10" % idx, name))
for net, owner in sorted(subnets):
    L.append(pre(1) + " %s owner %s" % (net, owner))
L.append(pre(1) + "End of subnet list.")
L.append(pre(2) + "Connections:")
for i, name in enumerate(sorted(names)):
    if name != "node1":
        L.append(pre(2) + " %s at 192.0.2.%d port %d options c socket %d status %s outbuf 549/0/0" % (name, int(name[4:]), 40000 + i, 6 + i, random.choice(["00c2", "01c2"])))
L.append(pre(2) + "End of connections.")
open(sys.argv[1], "w").write("\n".join(L) + "\n")
PY
    echo "generated $OUT/tinc10-64-nodes-full-mesh.generated-from-captured-format.log"
    exit 0
fi

cleanup() { "$LAB" down >/dev/null 2>&1 || true; }
trap cleanup EXIT

log_of() { echo "$STATE/$1/log/tincd.log"; }
size_of() { stat -c %s "$1"; }

# signal NODE SIG END-LINE: one paced signal, returns once END-LINE is in the new part of the log.
signal() {
    local node=$1 sig=$2 end=$3 log pid off
    log=$(log_of "$node")
    pid=$(cat "$STATE/$node/run/tincd.pid")
    exec 9>"$STATE/$node/run/tincd.signal.lock"
    flock -w 20 9
    off=$(size_of "$log")
    kill -s "$sig" "$pid"
    for _ in $(seq 1 200); do
        if tail -c +$((off + 1)) "$log" | grep -qF "$end"; then break; fi
        sleep 0.05
    done
    sleep 1
    flock -u 9
    exec 9>&-
}

# capture NAME NODE: USR2 then USR1 on NODE; the whole log excerpt from before the first signal.
capture() {
    local name=$1 node=$2 log start
    log=$(log_of "$node")
    start=$(size_of "$log")
    signal "$node" USR2 "End of subnet list."
    signal "$node" USR1 "End of connections."
    tail -c +$((start + 1)) "$log" > "$OUT/$name"
    echo "captured $OUT/$name ($(wc -l < "$OUT/$name") lines)"
}

# wait_dump NODE PATTERN TRIES: until PATTERN appears in a fresh USR2 dump of NODE.
wait_dump() {
    local node=$1 pattern=$2 seconds=$3 log start
    log=$(log_of "$node")
    for _ in $(seq 1 "$seconds"); do
        start=$(size_of "$log")
        signal "$node" USR2 "End of subnet list."
        if tail -c +$((start + 1)) "$log" | grep -qE "$pattern"; then return 0; fi
        sleep 1
    done
    echo "capture-tinc: timed out waiting for /$pattern/ in $node's dump" >&2
    return 1
}

"$LAB" down >/dev/null 2>&1 || true
"$LAB" up --nodes 3 --agent-binary "$AGENT"
"$LAB" wait converged --timeout 90

capture tinc10-node1-usr2-usr1-all-reachable.log node1

# An incoming meta connection that has not sent its ID yet: a bare TCP connect from node2.
"$LAB" exec node2 -- timeout 12 bash -c 'exec 3<>/dev/tcp/192.0.2.1/655; sleep 10' &
holder=$!
sleep 1
start=$(size_of "$(log_of node1)")
signal node1 USR1 "End of connections."
tail -c +$((start + 1)) "$(log_of node1)" > "$OUT/tinc10-node1-usr1-incoming-unidentified.log"
echo "captured tinc10-node1-usr1-incoming-unidentified.log"
wait "$holder" || true

# /sys/class/net/tinc0 of node1 (the namespace's own sysfs).
for f in operstate mtu; do
    "$LAB" exec node1 -- cat "/sys/class/net/tinc0/$f" > "$OUT/sys-class-net-tinc0/$f"
done
for f in rx_bytes tx_bytes rx_packets tx_packets rx_errors tx_errors rx_dropped tx_dropped; do
    "$LAB" exec node1 -- cat "/sys/class/net/tinc0/statistics/$f" > "$OUT/sys-class-net-tinc0/statistics/$f"
done

# node1's configuration: tinc.conf and host files (no private key).
cp "$STATE/node1/tinc/bgpmesh/tinc.conf" "$OUT/node1-tinc/tinc.conf"
cp "$STATE"/node1/tinc/bgpmesh/hosts/* "$OUT/node1-tinc/hosts/"
# Fingerprints as documented: SHA-256 of the DER SubjectPublicKeyInfo.
: > "$OUT/node1-tinc/fingerprints.openssl.txt"
for h in "$OUT"/node1-tinc/hosts/*; do
    fp=$(sed -n '/-----BEGIN RSA PUBLIC KEY-----/,/-----END RSA PUBLIC KEY-----/p' "$h" \
        | openssl rsa -RSAPublicKey_in -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
    echo "$(basename "$h") $fp" >> "$OUT/node1-tinc/fingerprints.openssl.txt"
done

# Cut the underlay between node1 and node2: the meta connection dies after PingInterval +
# PingTimeout, and node1 reaches node2 through node3.
"$LAB" fault cut-link node1 node2
wait_dump node1 ' node2 at .* nexthop node3 ' 60
capture tinc10-node1-usr2-usr1-node2-indirect-after-cut-link.log node1
"$LAB" fault heal-link node1 node2

# Kill node2's tincd: node2 becomes unreachable for node1.
"$LAB" fault kill-tincd node2
wait_dump node1 ' node2 at .* status 00[02468ace][0-9a-f] ' 30
capture tinc10-node1-usr2-usr1-node2-unreachable.log node1

# Restart it: node2's log now holds lines of two pids; dump from the new one.
"$LAB" fault restart-tincd node2
sleep 3
capture tinc10-node2-usr2-usr1-after-restart.log node2
cp "$(log_of node2)" "$OUT/tinc10-node2-whole-log-two-pids.log"
echo "captured tinc10-node2-whole-log-two-pids.log"

"$LAB" down
trap - EXIT
echo "capture-tinc: done"
