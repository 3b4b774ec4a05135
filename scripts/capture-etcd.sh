#!/usr/bin/env bash
# Captures the etcd 3.4 /v3 JSON gateway replies used by Tests/EtcdClientTests/Fixtures.
# Starts a throwaway single-member etcd on loopback (client 127.0.0.1:23799, peer :23809,
# never the default 2379/2380), sends each request with curl and stores the body exactly as
# received, named after the request: `v3-kv-range-prefix-empty.json` is POST /v3/kv/range
# on a prefix with no keys. Watch streams (*.bin) are the raw, de-chunked response bodies.
# Re-run after an etcd upgrade and diff the fixtures. Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."

ETCD=${ETCD:-/usr/bin/etcd}
ETCDCTL=${ETCDCTL:-/usr/bin/etcdctl}
OUT=${OUT:-Tests/EtcdClientTests/Fixtures}
PORT=${PORT:-23799}
PEER=${PEER:-23809}
U=http://127.0.0.1:$PORT
DIR=$(mktemp -d /tmp/bgpmesh-capture-etcd.XXXXXX)
PID=

for tool in "$ETCD" "$ETCDCTL" curl base64; do
    command -v "$tool" >/dev/null || { echo "capture-etcd: missing $tool" >&2; exit 1; }
done

cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

start() {
    "$ETCD" --name capture --data-dir "$DIR/data" \
        --listen-client-urls "$U" --advertise-client-urls "$U" \
        --listen-peer-urls "http://127.0.0.1:$PEER" --initial-advertise-peer-urls "http://127.0.0.1:$PEER" \
        --initial-cluster "capture=http://127.0.0.1:$PEER" "$@" >"$DIR/etcd.log" 2>&1 &
    PID=$!
    for _ in $(seq 50); do curl -sf -m 1 "$U/health" >/dev/null 2>&1 && return 0; sleep 0.2; done
    echo "capture-etcd: etcd did not become healthy; log:" >&2; cat "$DIR/etcd.log" >&2; exit 1
}

b64() { printf '%s' "$1" | base64 -w0; }
# post NAME PATH BODY [curl args...]: stores the body of the reply in $OUT/NAME.
post() {
    local name=$1 path=$2 body=$3; shift 3
    curl -s -m 5 -X POST "$U$path" -d "$body" "$@" >"$OUT/$name"
    echo "captured $name" >&2
}
# stream NAME SECONDS BODY [curl args...]: a watch stream, cut after SECONDS.
stream() {
    local name=$1 seconds=$2 body=$3; shift 3
    curl -sN -m "$seconds" -X POST "$U/v3/watch" -d "$body" "$@" >"$OUT/$name" || true
    echo "captured $name" >&2
}

mkdir -p "$OUT"
start

P=$(b64 /bgpmesh/lab/)
PEND=$(b64 /bgpmesh/lab0)
KA=$(b64 /bgpmesh/lab/nodes/a)
KB=$(b64 /bgpmesh/lab/nodes/b)
KL=$(b64 /bgpmesh/lab/alive/a)

post v3-kv-range-prefix-empty.json /v3/kv/range "{\"key\":\"$P\",\"range_end\":\"$PEND\"}"
post v3-kv-put.json /v3/kv/put "{\"key\":\"$KA\",\"value\":\"$(b64 '{"name":"a"}')\"}"
post v3-kv-put-prev-kv.json /v3/kv/put "{\"key\":\"$KA\",\"value\":\"$(b64 '{"name":"a","v":2}')\",\"prev_kv\":true}"
# An empty value is omitted from the kv, like every zero value.
post v3-kv-put-empty-value.json /v3/kv/put "{\"key\":\"$KB\",\"value\":\"\"}"
# TTL 1 is raised to etcd's minimum TTL.
post v3-lease-grant.json /v3/lease/grant '{"TTL":"60","ID":"7587869251712520000"}'
post v3-lease-grant-min-ttl.json /v3/lease/grant '{"TTL":"1"}'
post v3-kv-put-lease.json /v3/kv/put "{\"key\":\"$KL\",\"value\":\"$(b64 1)\",\"lease\":\"7587869251712520000\"}"
post v3-kv-range-prefix.json /v3/kv/range "{\"key\":\"$P\",\"range_end\":\"$PEND\"}"
post v3-kv-range-prefix-limit.json /v3/kv/range "{\"key\":\"$P\",\"range_end\":\"$PEND\",\"limit\":\"1\"}"
post v3-kv-range-prefix-keys-only.json /v3/kv/range "{\"key\":\"$P\",\"range_end\":\"$PEND\",\"keys_only\":true}"
post v3-kv-range-prefix-count-only.json /v3/kv/range "{\"key\":\"$P\",\"range_end\":\"$PEND\",\"count_only\":true}"
post v3-kv-range-revision.json /v3/kv/range "{\"key\":\"$KA\",\"revision\":\"2\"}"
post v3-kv-range-future-revision.json /v3/kv/range "{\"key\":\"$KA\",\"revision\":\"999\"}"
post v3-error-body.json /v3/kv/range '{"key":1}'
# etcd rejects base64 without its padding.
post v3-kv-put-unpadded-base64.json /v3/kv/put '{"key":"eA","value":"eA"}'

# Compare-and-swap: create-if-missing succeeds once, then fails and runs the failure branch.
TXN="{\"compare\":[{\"key\":\"$(b64 /bgpmesh/lab/lock)\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],\
\"success\":[{\"request_put\":{\"key\":\"$(b64 /bgpmesh/lab/lock)\",\"value\":\"$(b64 a)\"}}],\
\"failure\":[{\"request_range\":{\"key\":\"$(b64 /bgpmesh/lab/lock)\"}},{\"request_delete_range\":{\"key\":\"$(b64 /bgpmesh/lab/nothing)\"}}]}"
post v3-kv-txn-succeeded.json /v3/kv/txn "$TXN"
post v3-kv-txn-failed.json /v3/kv/txn "$TXN"

post v3-kv-deleterange-prev-kv.json /v3/kv/deleterange "{\"key\":\"$KB\",\"prev_kv\":true}"
post v3-kv-deleterange-none.json /v3/kv/deleterange "{\"key\":\"$KB\"}"

post v3-lease-keepalive.json /v3/lease/keepalive '{"ID":"7587869251712520000"}'
post v3-lease-keepalive-expired.json /v3/lease/keepalive '{"ID":"12345"}'
post v3-lease-revoke.json /v3/lease/revoke '{"ID":"7587869251712520000"}'
post v3-lease-revoke-not-found.json /v3/lease/revoke '{"ID":"7587869251712520000"}'

post v3-maintenance-status.json /v3/maintenance/status '{}'
post v3-cluster-member-list.json /v3/cluster/member/list '{}'
curl -s -m 5 "$U/health" >"$OUT/health.json"; echo "captured health.json" >&2

# Watch from revision 1 with prev_kv: the created response, the history as one response,
# then live changes (put, delete) made while the stream is open.
( sleep 0.7
  curl -s -m 5 -X POST "$U/v3/kv/put" -d "{\"key\":\"$KB\",\"value\":\"$(b64 '{"name":"b"}')\"}" >/dev/null
  curl -s -m 5 -X POST "$U/v3/kv/deleterange" -d "{\"key\":\"$KB\"}" >/dev/null ) &
WRITER=$!
stream v3-watch-stream-chunks.bin 2 "{\"create_request\":{\"key\":\"$P\",\"range_end\":\"$PEND\",\"start_revision\":\"1\",\"prev_kv\":true}}"
wait "$WRITER"

# Compaction: a watch that starts below the compacted revision is canceled with compact_revision.
REV=$(curl -s -m 5 -X POST "$U/v3/kv/range" -d "{\"key\":\"$KA\"}" | grep -o '"revision":"[0-9]*"' | head -1 | grep -o '[0-9]*')
post v3-kv-compaction.json /v3/kv/compaction "{\"revision\":\"$REV\",\"physical\":true}"
post v3-kv-range-compacted.json /v3/kv/range "{\"key\":\"$KA\",\"revision\":\"2\"}"
stream v3-watch-compacted.bin 1 "{\"create_request\":{\"key\":\"$P\",\"range_end\":\"$PEND\",\"start_revision\":\"2\"}}"
stream v3-watch-bad-request.bin 1 'garbage'

# Auth: not enabled yet, then user root + role root, user agent with readwrite on the prefix.
post v3-auth-authenticate-not-enabled.json /v3/auth/authenticate '{"name":"agent","password":"agentpw"}'
E="$ETCDCTL --endpoints=$U"
$E user add root:rootpw >/dev/null
$E role add root >/dev/null
$E user grant-role root root >/dev/null
$E user add agent:agentpw >/dev/null
$E role add agent >/dev/null
$E role grant-permission agent readwrite /bgpmesh/ --prefix=true >/dev/null
$E user grant-role agent agent >/dev/null
$E auth enable >/dev/null
post v3-auth-authenticate.json /v3/auth/authenticate '{"name":"agent","password":"agentpw"}'
post v3-auth-authenticate-failed.json /v3/auth/authenticate '{"name":"agent","password":"wrong"}'
TOKEN=$(grep -o '"token":"[^"]*"' "$OUT/v3-auth-authenticate.json" | cut -d'"' -f4)
post v3-kv-range-no-token.json /v3/kv/range "{\"key\":\"$KA\"}"
# A simple token is "<random>.<raft index>"; keep the index small so etcd does not wait for it.
post v3-kv-range-invalid-token.json /v3/kv/range "{\"key\":\"$KA\"}" -H "Authorization: invalid.1"
post v3-kv-range-bearer-token.json /v3/kv/range "{\"key\":\"$KA\"}" -H "Authorization: Bearer $TOKEN"
post v3-kv-range-permission-denied.json /v3/kv/range "{\"key\":\"$(b64 /other)\"}" -H "Authorization: $TOKEN"
post v3-kv-range-token.json /v3/kv/range "{\"key\":\"$KA\"}" -H "Authorization: $TOKEN"
stream v3-watch-invalid-token.bin 1 "{\"create_request\":{\"key\":\"$KA\"}}" -H "Authorization: invalid.1"
stream v3-watch-permission-denied.bin 1 "{\"create_request\":{\"key\":\"$(b64 /other)\"}}" -H "Authorization: $TOKEN"

echo "capture-etcd: wrote $(ls "$OUT" | wc -l) files to $OUT" >&2
