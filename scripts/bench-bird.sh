#!/usr/bin/env bash
# make bench-bird: the BIRD collector against `birdc show protocols all` (and, on the first
# config, bird_exporter -bird.v2), on two BIRD 2 configs, each in its own network namespace:
#
#   static  1000 passive BGP protocols (IPv4 and IPv6 channels) and a static protocol with
#           100,000 routes.
#   rs      a route server: 1000 BGP protocols with descriptions holding quotes, backslashes
#           and non-ASCII text, IPv4, IPv6 and multiprotocol (both channels) sessions, import
#           filters with `import keep filtered on`, receive limits, BFD on some, a few
#           disabled. RS_PEERS of them (default 40) are answered by a second BIRD in its own
#           namespace behind a veth (documentation addresses only), which sends routes the
#           filters partly refuse, so those sessions carry imported and filtered counts.
#
# For each config the agent runs twice, BIRD collector only: plain, then with
# collector.bird.compat. Scrapes of the agent and `birdc show protocols all` alternate,
# SCRAPES each; it prints the medians, the ratio agent / birdc of the same phase, response
# sizes and RSS. A scrape only encodes what the agent's BIRD sampler holds, so the sampler's
# own reads (bgpmesh_bird_sampler_poll_duration_seconds) are reported too. Needs root.
# CASES="static rs" picks the configs. Everything (namespaces, daemons, files) goes on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

AGENT=${AGENT:-.build/release/bgpmesh-agent}
BIRD_EXPORTER=${BIRD_EXPORTER:-$(command -v prometheus-bird-exporter || true)}
SCRAPES=${SCRAPES:-20}
PROTOCOLS=${PROTOCOLS:-1000}
ROUTES=${ROUTES:-100000}
RS_PEERS=${RS_PEERS:-40}
CASES=${CASES:-static rs}
NS=bmb-bench
PEER_NS=bmb-bench-peer
DIR=$(mktemp -d /tmp/bgpmesh-bench-bird.XXXXXX)
AGENT_ADDR=127.0.0.1:${AGENT_PORT:-20180}
REF_ADDR=127.0.0.1:${REF_PORT:-20326}

[ "$(id -u)" -eq 0 ] || { echo "bench-bird: needs root (network namespace)" >&2; exit 1; }
for tool in bird birdc curl "$BIRD_EXPORTER" "$AGENT"; do
    [ -n "$tool" ] && command -v "$tool" >/dev/null || { echo "bench-bird: missing $tool (run: make deps build)" >&2; exit 1; }
done
[ "$RS_PEERS" -le 40 ] || { echo "bench-bird: RS_PEERS is at most 40" >&2; exit 1; }

pids=()
stop_birds() {
    for f in "$DIR"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; done
}
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    stop_birds
    wait 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    ip netns del "$PEER_NS" 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT

fresh_namespaces() {
    stop_birds
    ip netns del "$NS" 2>/dev/null || true
    ip netns del "$PEER_NS" 2>/dev/null || true
    ip netns add "$NS"
    ip -n "$NS" link set lo up
}

# Runs the command in "$@" every 0.1 s until it succeeds, at most $2 times; fails naming $1.
wait_for() {
    local what=$1 tries=$2; shift 2
    for _ in $(seq "$tries"); do "$@" && return 0; sleep 0.1; done
    echo "bench-bird: timed out waiting for $what" >&2
    return 1
}

gen_static() {
    ip -n "$NS" addr add 192.0.2.1/32 dev lo
    ip -n "$NS" addr add 2001:db8::1/128 dev lo
    {
        echo "router id 192.0.2.1;"
        echo "protocol device {}"
        echo "protocol static static6 { ipv6; "
        awk -v n="$ROUTES" 'BEGIN { for (i = 0; i < n; i++) printf "  route 2001:db8:%x:%x::/64 unreachable;\n", int(i / 65536) + 1, i % 65536 }'
        echo "}"
        echo "protocol static static4 { ipv4; "
        for a in 192.0.2 198.51.100 203.0.113; do for i in $(seq 0 255); do echo "  route $a.$i/32 blackhole;"; done; done
        echo "}"
        awk -v n="$PROTOCOLS" 'BEGIN {
            for (i = 0; i < n; i++) {
                if (i % 2 == 0) {
                    printf "protocol bgp peer%d { local as 65000; neighbor 2001:db8:ffff::%x as %d; passive; ipv6 { import all; export all; }; ipv4 { import all; export none; }; }\n", i, i + 1, 65001 + i % 100
                } else {
                    printf "protocol bgp peer%d { local as 65000; neighbor %s.%d as %d; passive; ipv4 { import all; export all; }; }\n", i, (i % 4 == 1 ? "198.51.100" : "203.0.113"), (i / 4) % 250 + 1, 65001 + i % 100
                }
            }
        }'
    } > "$DIR/bird.conf"
    ip netns exec "$NS" bird -c "$DIR/bird.conf" -s "$DIR/bird.ctl" -P "$DIR/bird.pid"
    static_ready() { [ -S "$DIR/bird.ctl" ] && [[ "$(birdc -s "$DIR/bird.ctl" show route count 2>/dev/null)" == *"$((ROUTES + 768)) of"* ]]; }
    wait_for "the static routes" 600 static_ready
    CASE_TITLE="static: $PROTOCOLS passive BGP protocols, $ROUTES + 768 static routes"
}

# The route server and its answering peer. Peer k (0 <= k < RS_PEERS) is protocol k on the
# route server: even k an IPv4 session (IPv4 channel), odd k an IPv6 session with both
# channels. The peer sends 64 IPv4 and 64 IPv6 prefixes of several lengths; the route
# server's filters refuse the longer ones, and keep them as filtered.
gen_rs() {
    ip netns add "$PEER_NS"
    ip -n "$PEER_NS" link set lo up
    ip link add bmb-rs netns "$NS" type veth peer name bmb-rspeer netns "$PEER_NS"
    ip -n "$NS" addr add 192.0.2.1/24 dev bmb-rs
    ip -n "$NS" addr add 2001:db8::1/64 dev bmb-rs nodad
    # One address per session on each side: BIRD tells sessions apart by the neighbor's address.
    for k in $(seq 0 $((RS_PEERS - 1))); do
        if [ $((k % 2)) -eq 0 ]; then
            ip -n "$PEER_NS" addr add "192.0.2.$((10 + k))/24" dev bmb-rspeer
            ip -n "$NS" addr add "192.0.2.$((100 + k))/24" dev bmb-rs
        else
            ip -n "$PEER_NS" addr add "2001:db8::$(printf %x $((10 + k)))/64" dev bmb-rspeer nodad
            ip -n "$NS" addr add "2001:db8::$(printf %x $((100 + k)))/64" dev bmb-rs nodad
        fi
    done
    # The IPv4 next hop of the multiprotocol sessions.
    ip -n "$PEER_NS" addr add 192.0.2.9/24 dev bmb-rspeer
    ip -n "$NS" link set bmb-rs up
    ip -n "$PEER_NS" link set bmb-rspeer up
    {
        echo "router id 192.0.2.1;"
        echo "protocol device {}"
        echo "protocol bfd { interface \"*\" { min rx interval 200 ms; min tx interval 200 ms; }; }"
        echo "filter rs_in4 { if net.len > 26 then reject; accept; }"
        echo "filter rs_in6 { if net.len > 56 then reject; accept; }"
        echo "filter rs_out { if net.len > 24 then reject; accept; }"
        awk -v n="$PROTOCOLS" -v peers="$RS_PEERS" 'BEGIN {
            split("Zürich|São Paulo|Kraków|東京|Москва|İstanbul|Ålesund|Montréal", city, "|")
            for (i = 0; i < n; i++) {
                as = sprintf("42%08d", i)
                desc = sprintf("AS%s '\''%s IX'\'' — peer #%d, C:\\rs\\%d", as, city[i % 8 + 1], i, i % 10)
                v4 = "ipv4 { import keep filtered on; import filter rs_in4; export filter rs_out; }; "
                v4l = "ipv4 { import keep filtered on; import filter rs_in4; export filter rs_out; receive limit 5000 action restart; }; "
                v6 = "ipv6 { import keep filtered on; import filter rs_in6; export none; }; "
                extra = (i % 10 == 0 ? "bfd on; " : "") (i % 97 == 50 ? "disabled; " : "")
                if (i < peers) {
                    if (i % 2 == 0) printf "protocol bgp as%s { description \"%s\"; local 192.0.2.%d as 65000; neighbor 192.0.2.%d as %s; bfd on; %s%s}\n", as, desc, 100 + i, 10 + i, as, v4l, ""
                    else printf "protocol bgp as%s { description \"%s\"; local 2001:db8::%x as 65000; neighbor 2001:db8::%x as %s; bfd on; %s%s}\n", as, desc, 100 + i, 10 + i, as, v4, v6
                } else if (i % 3 == 0) {
                    printf "protocol bgp as%s { description \"%s\"; local as 65000; neighbor 198.51.100.%d as %s; passive; %s%s}\n", as, desc, i % 250 + 1, as, extra, v4l
                } else if (i % 3 == 1) {
                    printf "protocol bgp as%s { description \"%s\"; local as 65000; neighbor 2001:db8:ffff::%x as %s; passive; %s%s}\n", as, desc, i, as, extra, v6
                } else {
                    printf "protocol bgp as%s { description \"%s\"; local as 65000; neighbor 2001:db8:fffe::%x as %s; passive; %s%s%s}\n", as, desc, i, as, extra, v4, v6
                }
            }
        }'
    } > "$DIR/bird.conf"
    {
        echo "router id 192.0.2.9;"
        echo "protocol device {}"
        echo "protocol bfd { interface \"*\" { min rx interval 200 ms; min tx interval 200 ms; }; }"
        echo "protocol static s4 { ipv4;"
        for i in $(seq 0 31); do echo "  route 203.0.113.$((i * 8))/29 blackhole;"; echo "  route 198.51.$((i + 100)).0/24 blackhole;"; done
        echo "}"
        echo "protocol static s6 { ipv6;"
        for i in $(seq 0 31); do printf '  route 2001:db8:%x::/48 blackhole;\n  route 2001:db8:a%x:100::/64 blackhole;\n' $((i + 256)) "$i"; done
        echo "}"
        for k in $(seq 0 $((RS_PEERS - 1))); do
            as=$((4200000000 + k))
            if [ $((k % 2)) -eq 0 ]; then
                echo "protocol bgp rs$k { local 192.0.2.$((10 + k)) as $as; neighbor 192.0.2.$((100 + k)) as 65000; bfd on; ipv4 { import all; export all; }; }"
            else
                echo "protocol bgp rs$k { local 2001:db8::$(printf %x $((10 + k))) as $as; neighbor 2001:db8::$(printf %x $((100 + k))) as 65000; bfd on; ipv4 { import all; export all; next hop address 192.0.2.9; }; ipv6 { import all; export all; }; }"
            fi
        done
    } > "$DIR/peer.conf"
    ip netns exec "$PEER_NS" bird -c "$DIR/peer.conf" -s "$DIR/peer.ctl" -P "$DIR/peer.pid"
    ip netns exec "$NS" bird -c "$DIR/bird.conf" -s "$DIR/bird.ctl" -P "$DIR/bird.pid"
    # Every answered session Established, and its routes in (64 + 64 per IPv4 + IPv6 pair of sessions).
    rs_ready() {
        [ -S "$DIR/bird.ctl" ] || return 1
        [ "$(birdc -s "$DIR/bird.ctl" show protocols 2>/dev/null | grep -c Established)" -ge "$RS_PEERS" ] || return 1
        [[ "$(birdc -s "$DIR/bird.ctl" show protocols all 2>/dev/null)" =~ Routes:\ +[0-9]+\ imported,\ [1-9][0-9]*\ filtered ]]
    }
    wait_for "$RS_PEERS Established sessions on the route server" 600 rs_ready
    CASE_TITLE="rs: $PROTOCOLS BGP protocols (route server), $RS_PEERS answered, filtered routes kept, BFD, UTF-8 descriptions"
}

scrape() { curl -fsS -o "$2" -w '%{time_total}\n' "http://$1/metrics"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ms() { awk -v x="$1" 'BEGIN {printf "%.1f", x * 1000}'; }
timed_birdc() {
    local s e
    s=$(date +%s.%N); birdc -s "$DIR/bird.ctl" show protocols all >"$DIR/birdc.txt"; e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN {print e - s}'
}
# The sampler's reads, as the last scrape reported them: mean seconds and count per kind.
poll_stat() {
    awk -v kind="$1" '
        $1 == "bgpmesh_bird_sampler_poll_duration_seconds_sum{poll=\"" kind "\"}" { sum = $2 }
        $1 == "bgpmesh_bird_sampler_poll_duration_seconds_count{poll=\"" kind "\"}" { n = $2 }
        END { printf "%s %d\n", (n > 0 ? sum / n : 0), n }' "$2"
}

# One agent (plain or compat) against the case's BIRD; with $2 = ref, bird_exporter too.
measure_agent() {
    local mode=$1 with_ref=${2:-} flags=()
    [ "$mode" = compat ] && flags+=(--collector.bird.compat)
    # BIRD collector only: probing the fake neighbors from the root namespace would send
    # packets off this machine.
    "$AGENT" run --web.listen-address "$AGENT_ADDR" --no-collector.process --no-collector.probe --no-collector.tinc \
        --no-collector.etcd --collector.bird.socket "$DIR/bird.ctl" "${flags[@]}" \
        --collector.timeout 30s --collector.bird.timeout 20s --log.level warning &
    local agent_pid=$! ref_pid=""
    pids+=("$agent_pid")
    if [ -n "$with_ref" ]; then
        "$BIRD_EXPORTER" -web.listen-address "$REF_ADDR" -bird.socket "$DIR/bird.ctl" -bird.v2 >"$DIR/bird_exporter.log" 2>&1 &
        ref_pid=$!; pids+=("$ref_pid")
        wait_for "bird_exporter" 100 curl -fsS -o /dev/null "http://$REF_ADDR/"
    fi
    # The agent's sampler reads BIRD on its own; wait for its first detailed read.
    # (The whole body first: `grep -q` closing the pipe early would fail it under pipefail.)
    agent_up() { [[ $'\n'"$(curl -fsS "http://$AGENT_ADDR/metrics" 2>/dev/null)"$'\n' == *$'\nbird_up 1\n'* ]]; }
    wait_for "the agent's first read of BIRD" 300 agent_up
    local agent_idle ref_idle=""
    agent_idle=$(rss "$agent_pid"); [ -n "$ref_pid" ] && ref_idle=$(rss "$ref_pid")
    # One warm-up scrape each (first connection, page cache).
    scrape "$AGENT_ADDR" /dev/null >/dev/null; [ -n "$ref_pid" ] && scrape "$REF_ADDR" /dev/null >/dev/null
    # PERF=DIR: `perf record -g` on the agent during the timed scrapes, one file per case and mode.
    local perf_pid=""
    if [ -n "${PERF:-}" ]; then
        mkdir -p "$PERF"
        perf record -q -g -F 4999 -p "$agent_pid" -o "$PERF/perf-$CASE-$mode.data" >/dev/null 2>&1 &
        perf_pid=$!
        sleep 0.5
    fi
    local agent_t=() ref_t=() birdc_t=()
    for _ in $(seq "$SCRAPES"); do
        agent_t+=("$(scrape "$AGENT_ADDR" "$DIR/agent.prom")")
        [ -n "$ref_pid" ] && ref_t+=("$(scrape "$REF_ADDR" "$DIR/ref.prom")")
        birdc_t+=("$(timed_birdc)")
    done
    if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
    local am cm bm=""
    am=$(median "${agent_t[@]}"); cm=$(median "${birdc_t[@]}")
    [ -n "$ref_pid" ] && bm=$(median "${ref_t[@]}")
    local short_mean short_n detail_mean detail_n
    read -r short_mean short_n < <(poll_stat short "$DIR/agent.prom")
    read -r detail_mean detail_n < <(poll_stat detail "$DIR/agent.prom")
    local bgp_ok
    bgp_ok=$(grep -c '^bird_bgp_session_state{.*} 1$' "$DIR/agent.prom" || true)
    local series
    series=$(grep -vc '^#' "$DIR/agent.prom" || true)

    echo "-- agent, ${mode} --"
    printf 'agent scrape             median %8s ms   response %8d bytes, %d series\n' "$(ms "$am")" "$(stat -c %s "$DIR/agent.prom")" "$series"
    printf 'birdc show protocols all median %8s ms   output   %8d bytes (same phase)\n' "$(ms "$cm")" "$(stat -c %s "$DIR/birdc.txt")"
    if [ -n "$ref_pid" ]; then
        printf 'bird_exporter -bird.v2   median %8s ms   response %8d bytes\n' "$(ms "$bm")" "$(stat -c %s "$DIR/ref.prom")"
    fi
    printf 'sampler short poll       mean   %8s ms   (show protocols, %d polls, every collector.bird.sampler-interval)\n' "$(ms "$short_mean")" "$short_n"
    printf 'sampler detailed read    mean   %8s ms   (status, protocols all, counts, memory, BFD; %d reads)\n' "$(ms "$detail_mean")" "$detail_n"
    awk -v a="$am" -v c="$cm" -v m="$mode" 'BEGIN {printf "ratio agent scrape / birdc:         %.2f (goal <= 3)   [%s]\n", a/c, m}'
    awk -v a="$am" -v d="$detail_mean" -v c="$cm" 'BEGIN {printf "ratio (scrape + detailed read) / birdc: %.2f (what a scrape cost when it read BIRD itself)\n", (a+d)/c}'
    if [ -n "$ref_pid" ]; then
        awk -v a="$am" -v b="$bm" 'BEGIN {printf "ratio agent scrape / bird_exporter: %.3f (goal <= 0.1)\n", a/b}'
        awk -v a="$am" -v d="$detail_mean" -v b="$bm" 'BEGIN {printf "ratio (scrape + detailed read) / bird_exporter: %.3f\n", (a+d)/b}'
    fi
    awk -v s="$short_mean" -v d="$detail_mean" 'BEGIN {printf "sampler busy share at the defaults (1 s short, 5 s detail): %.1f %%\n", 100 * (s/1 + d/5)}'
    if [ -n "$ref_pid" ]; then
        awk -v a="$(hwm "$agent_pid")" -v b="$(hwm "$ref_pid")" 'BEGIN {printf "peak RSS: agent %.1f MiB, bird_exporter %.1f MiB, ratio %.2f (goal <= 0.5)\n", a/1024, b/1024, a/b}'
        awk -v a="$agent_idle" -v b="$ref_idle" 'BEGIN {printf "RSS before the first scrape: agent %.1f MiB, bird_exporter %.1f MiB\n", a/1024, b/1024}'
    else
        awk -v a="$(hwm "$agent_pid")" -v i="$agent_idle" 'BEGIN {printf "agent RSS: %.1f MiB before the first scrape, peak %.1f MiB\n", i/1024, a/1024}'
    fi
    echo "BGP sessions in the agent's output: $bgp_ok of $PROTOCOLS"
    kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
    if [ -n "$ref_pid" ]; then kill "$ref_pid"; wait "$ref_pid" 2>/dev/null || true; fi
}

for case in $CASES; do
    CASE=$case
    fresh_namespaces
    echo "bench-bird: starting BIRD for the $case config"
    case $case in
        static) gen_static ;;
        rs) gen_rs ;;
        *) echo "bench-bird: unknown case $case (static, rs)" >&2; exit 1 ;;
    esac
    birdc -s "$DIR/bird.ctl" show route count | tail -1
    # CAPTURE=DIR: BIRD's raw reply to `show protocols all` (the control protocol's bytes after
    # the greeting, as the BIRDControl fixtures hold them), for new fixtures; with CAPTURE_ONLY=1
    # nothing is measured.
    if [ -n "${CAPTURE:-}" ]; then
        mkdir -p "$CAPTURE"
        python3 - "$DIR/bird.ctl" "$CAPTURE/show-protocols-all-$case.txt" <<'PY'
import re, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
data = b""
while b"\n" not in data: data += s.recv(65536)
s.sendall(b"show protocols all\n")
reply = data[data.index(b"\n") + 1:]
while not re.search(rb"(^|\n)\d{4} [^\n]*\n$", reply): reply += s.recv(1 << 20)
open(sys.argv[2], "wb").write(reply)
PY
        echo "bench-bird: captured $CAPTURE/show-protocols-all-$case.txt"
        [ -z "${CAPTURE_ONLY:-}" ] || continue
    fi
    echo
    echo "== bench-bird $CASE_TITLE; $SCRAPES scrapes each, alternating =="
    if [ "$case" = static ]; then measure_agent plain ref; else measure_agent plain; fi
    measure_agent compat
    echo
done
