#!/usr/bin/env bash
# Captures the webhook bodies Alertmanager (Debian's 0.25) POSTs to /api/v1/alerts, for
# Tests/MeshAgentTests/Fixtures/alertmanager. Starts a throwaway Alertmanager on loopback
# (web 127.0.0.1:29193, clustering off; never the default 9093/9094 nor the lab's forwarded
# 19090/19093) whose webhook receiver points at a small python3 listener on 127.0.0.1:29199
# that stores every request body and its headers. Alerts go in through Alertmanager's v2 API
# (fixed startsAt/endsAt in the past, so a re-capture differs only where Alertmanager changed),
# and each body is stored under the name of the step that produced it:
#   firing-TincPeerUnreachable-node1.json            one alert posted, first delivery
#   firing-TincPeerUnreachable-node1-repeat.json     the same group re-sent after repeat_interval
#   resolved-TincPeerUnreachable-node1.json          the alert posted again with endsAt in the past
#   firing-BGPSessionDown-node1-node2.json           two alerts (two nodes) in one group
#   firing-BGPSessionDown-node1-node2-resolved.json  the group after node2's alert resolved
# The *.headers files hold the request line and headers of the first delivery (the bearer
# token comes from http_config.authorization.credentials_file). Re-run after an Alertmanager
# upgrade and diff the fixtures; the old ones are replaced only after every step succeeded.
# Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."

AM=${AM:-/usr/bin/prometheus-alertmanager}
OUT=${OUT:-Tests/MeshAgentTests/Fixtures/alertmanager}
AM_PORT=${AM_PORT:-29193}
HOOK_PORT=${HOOK_PORT:-29199}
TOKEN=${TOKEN:-capture-token-not-a-secret}
AMU=http://127.0.0.1:$AM_PORT
DIR=$(mktemp -d /tmp/bgpmesh-capture-am.XXXXXX)
AM_PID=
HOOK_PID=

for tool in "$AM" python3 curl; do
    command -v "$tool" >/dev/null || { echo "capture-alertmanager: missing $tool" >&2; exit 1; }
done

cleanup() {
    for pid in "$AM_PID" "$HOOK_PID"; do
        if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    done
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Refuse ports someone else listens on: the readiness check below must reach our Alertmanager.
for port in "$AM_PORT" "$HOOK_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "capture-alertmanager: 127.0.0.1:$port is in use; set AM_PORT/HOOK_PORT" >&2; exit 1
    fi
done

# The listener: request N goes to $DIR/req/N.json (body) and N.headers (request line + headers).
mkdir -p "$DIR/req"
cat >"$DIR/hook.py" <<'EOF'
import http.server, os, sys
out = sys.argv[2]
count = 0
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        count += 1
        with open(os.path.join(out, "%d.headers.tmp" % count), "w") as f:
            f.write(self.requestline + "\n")
            for name, value in self.headers.items():
                f.write("%s: %s\n" % (name, value))
        with open(os.path.join(out, "%d.json.tmp" % count), "wb") as f:
            f.write(body)
        os.rename(os.path.join(out, "%d.headers.tmp" % count), os.path.join(out, "%d.headers" % count))
        os.rename(os.path.join(out, "%d.json.tmp" % count), os.path.join(out, "%d.json" % count))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
EOF
python3 "$DIR/hook.py" "$HOOK_PORT" "$DIR/req" >"$DIR/hook.log" 2>&1 &
HOOK_PID=$!

printf '%s\n' "$TOKEN" >"$DIR/token"
chmod 600 "$DIR/token"
cat >"$DIR/alertmanager.yml" <<EOF
route:
  receiver: bgpmesh-agent
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    # Only this alert repeats quickly, so the repeat capture does not wait an hour.
    - matchers: ['alertname="TincPeerUnreachable"']
      receiver: bgpmesh-agent
      repeat_interval: 3s
receivers:
  - name: bgpmesh-agent
    webhook_configs:
      - url: http://127.0.0.1:$HOOK_PORT/api/v1/alerts
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: $DIR/token
EOF

"$AM" --config.file "$DIR/alertmanager.yml" --storage.path "$DIR/data" \
    --web.listen-address "127.0.0.1:$AM_PORT" --web.external-url "http://alertmanager.invalid:9093" \
    --cluster.listen-address "" >"$DIR/am.log" 2>&1 &
AM_PID=$!
for _ in $(seq 50); do curl -sf -m 1 "$AMU/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done
if ! curl -sf -m 1 "$AMU/-/ready" >/dev/null || ! kill -0 "$AM_PID" 2>/dev/null || ! kill -0 "$HOOK_PID" 2>/dev/null; then
    echo "capture-alertmanager: Alertmanager or the listener did not start; logs:" >&2; cat "$DIR/am.log" "$DIR/hook.log" >&2; exit 1
fi

SEEN=0
# wait_next NAME: waits for the next delivery and stores it as $OUT/NAME.json.
wait_next() {
    local name=$1 n=$((SEEN + 1))
    for _ in $(seq 100); do [ -f "$DIR/req/$n.json" ] && break; sleep 0.1; done
    [ -f "$DIR/req/$n.json" ] || { echo "capture-alertmanager: no delivery for $name; log:" >&2; cat "$DIR/am.log" >&2; exit 1; }
    cp "$DIR/req/$n.json" "$DIR/out/$name.json"
    SEEN=$n
    echo "captured $name.json" >&2
}
# post_alerts JSON: pushes alerts through the v2 API.
post_alerts() {
    curl -sf -m 5 -X POST -H 'Content-Type: application/json' "$AMU/api/v2/alerts" -d "$1" >/dev/null
}

mkdir -p "$DIR/out"
# Fixed times (in the past), so a re-capture differs only where Alertmanager changed.
STARTS=2026-11-30T10:00:00.000Z
PEER='"alertname":"TincPeerUnreachable","node":"node1","peer":"node2","severity":"warning"'
PEER_ANN='"summary":"node1 cannot reach node2 over tinc","description":"tinc on node1 reports node2 unreachable for 30s."'
post_alerts "[{\"labels\":{$PEER},\"annotations\":{$PEER_ANN},\"startsAt\":\"$STARTS\",\"generatorURL\":\"http://prometheus.invalid:9090/graph?g0.expr=tinc_node_reachable%3D%3D0\"}]"
wait_next firing-TincPeerUnreachable-node1
cp "$DIR/req/$SEEN.headers" "$DIR/out/firing-TincPeerUnreachable-node1.headers"
wait_next firing-TincPeerUnreachable-node1-repeat
ENDS=2026-11-30T10:00:30.000Z
post_alerts "[{\"labels\":{$PEER},\"annotations\":{$PEER_ANN},\"startsAt\":\"$STARTS\",\"endsAt\":\"$ENDS\",\"generatorURL\":\"http://prometheus.invalid:9090/graph?g0.expr=tinc_node_reachable%3D%3D0\"}]"
# A repeat may still be in flight when the resolve lands; skip firing ones.
while :; do
    wait_next resolved-TincPeerUnreachable-node1
    grep -q '"status":"resolved"' "$DIR/out/resolved-TincPeerUnreachable-node1.json" && break
done

STARTS=2026-11-30T10:01:00.000Z
S1='"alertname":"BGPSessionDown","node":"node1","session":"node2","severity":"critical"'
S2='"alertname":"BGPSessionDown","node":"node2","session":"node1","severity":"critical"'
ANN='"summary":"BGP session not Established"'
GEN='"generatorURL":"http://prometheus.invalid:9090/graph?g0.expr=bird_protocol_up%3D%3D0"'
post_alerts "[{\"labels\":{$S1},\"annotations\":{$ANN},\"startsAt\":\"$STARTS\",$GEN},{\"labels\":{$S2},\"annotations\":{$ANN},\"startsAt\":\"$STARTS\",$GEN}]"
wait_next firing-BGPSessionDown-node1-node2
ENDS=2026-11-30T10:01:30.000Z
post_alerts "[{\"labels\":{$S2},\"annotations\":{$ANN},\"startsAt\":\"$STARTS\",\"endsAt\":\"$ENDS\",$GEN}]"
wait_next firing-BGPSessionDown-node1-node2-resolved

"$AM" --version 2>&1 | head -1 >"$DIR/out/VERSION"
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.headers "$OUT/VERSION"
cp "$DIR"/out/* "$OUT"/
echo "capture-alertmanager: stored in $OUT" >&2
