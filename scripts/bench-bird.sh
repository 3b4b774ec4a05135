#!/usr/bin/env bash
# make bench-bird: the BIRD collector against bird_exporter (-bird.v2) and plain
# `birdc show protocols all`, on one BIRD 2 with 1000 passive BGP protocols
# (IPv4 and IPv6 channels) and a static protocol with 100,000 routes, run in its
# own network namespace. Scrapes alternate, 20 each; prints medians, ratios,
# response sizes and peak RSS. A scrape only encodes what the agent's BIRD sampler
# holds, so the sampler's own reads (from bgpmesh_bird_sampler_poll_duration_seconds)
# are reported too, with the scrape plus one detailed read against birdc. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

AGENT=${AGENT:-.build/release/bgpmesh-agent}
BIRD_EXPORTER=${BIRD_EXPORTER:-$(command -v prometheus-bird-exporter || true)}
SCRAPES=${SCRAPES:-20}
PROTOCOLS=${PROTOCOLS:-1000}
ROUTES=${ROUTES:-100000}
NS=bmb-bench
DIR=$(mktemp -d /tmp/bgpmesh-bench-bird.XXXXXX)
AGENT_ADDR=127.0.0.1:${AGENT_PORT:-20180}
REF_ADDR=127.0.0.1:${REF_PORT:-20326}

[ "$(id -u)" -eq 0 ] || { echo "bench-bird: needs root (network namespace)" >&2; exit 1; }
for tool in bird birdc curl "$BIRD_EXPORTER" "$AGENT"; do
    [ -n "$tool" ] && command -v "$tool" >/dev/null || { echo "bench-bird: missing $tool (run: make deps build)" >&2; exit 1; }
done

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$DIR/bird.pid" ] && kill "$(cat "$DIR/bird.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 192.0.2.1/32 dev lo
ip -n "$NS" addr add 2001:db8::1/128 dev lo

echo "bench-bird: generating a BIRD config with $PROTOCOLS BGP protocols and $ROUTES static routes"
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
for _ in $(seq 300); do
    [ -S "$DIR/bird.ctl" ] && birdc -s "$DIR/bird.ctl" show route count 2>/dev/null | grep -q "$((ROUTES + 768)) of" && break
    sleep 0.2
done
birdc -s "$DIR/bird.ctl" show route count | tail -1

"$BIRD_EXPORTER" -web.listen-address "$REF_ADDR" -bird.socket "$DIR/bird.ctl" -bird.v2 >"$DIR/bird_exporter.log" 2>&1 &
ref_pid=$!; pids+=("$ref_pid")
# BIRD collector only: the BGP neighbors here are fake, and probing them from the root
# namespace would send packets off this machine.
"$AGENT" run --web.listen-address "$AGENT_ADDR" --no-collector.process --no-collector.probe --no-collector.tinc \
    --no-collector.etcd --collector.bird.socket "$DIR/bird.ctl" \
    --collector.timeout 30s --collector.bird.timeout 20s --log.level warning &
agent_pid=$!; pids+=("$agent_pid")
for addr in "$AGENT_ADDR" "$REF_ADDR"; do
    for _ in $(seq 100); do curl -fsS -o /dev/null "http://$addr/" 2>/dev/null && break; sleep 0.1; done
done

# The agent's sampler reads BIRD on its own; wait for its first detailed read.
for _ in $(seq 300); do curl -fsS "http://$AGENT_ADDR/metrics" 2>/dev/null | grep -q '^bird_up 1$' && break; sleep 0.1; done
scrape() { curl -fsS -o "$2" -w '%{time_total}\n' "http://$1/metrics"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
agent_idle=$(rss "$agent_pid"); ref_idle=$(rss "$ref_pid")
# One warm-up scrape each (first connection, page cache).
scrape "$AGENT_ADDR" /dev/null >/dev/null; scrape "$REF_ADDR" /dev/null >/dev/null
agent_t=(); ref_t=(); birdc_t=()
for i in $(seq "$SCRAPES"); do
    agent_t+=("$(scrape "$AGENT_ADDR" "$DIR/agent.prom")")
    ref_t+=("$(scrape "$REF_ADDR" "$DIR/ref.prom")")
    s=$(date +%s.%N); birdc -s "$DIR/bird.ctl" show protocols all >"$DIR/birdc.txt"; e=$(date +%s.%N)
    birdc_t+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')")
done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
am=$(median "${agent_t[@]}"); bm=$(median "${ref_t[@]}"); cm=$(median "${birdc_t[@]}")
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
agent_hwm=$(hwm "$agent_pid"); ref_hwm=$(hwm "$ref_pid")
bgp_ok=$(grep -c '^bird_bgp_session_state{.*} 1$' "$DIR/agent.prom" || true)
# The sampler's reads, as the last scrape reported them: mean seconds and count per kind.
poll_stat() {
    awk -v kind="$1" '
        $1 == "bgpmesh_bird_sampler_poll_duration_seconds_sum{poll=\"" kind "\"}" { sum = $2 }
        $1 == "bgpmesh_bird_sampler_poll_duration_seconds_count{poll=\"" kind "\"}" { n = $2 }
        END { printf "%s %d\n", (n > 0 ? sum / n : 0), n }' "$DIR/agent.prom"
}
read -r short_mean short_n < <(poll_stat short)
read -r detail_mean detail_n < <(poll_stat detail)

echo
echo "== bench-bird: $PROTOCOLS BGP protocols, $ROUTES + 768 static routes; $SCRAPES scrapes each, alternating =="
printf 'agent (bird collector)   median %8.1f ms   response %8d bytes\n' "$(awk -v x="$am" 'BEGIN {print x*1000}')" "$(stat -c %s "$DIR/agent.prom")"
printf 'bird_exporter -bird.v2   median %8.1f ms   response %8d bytes\n' "$(awk -v x="$bm" 'BEGIN {print x*1000}')" "$(stat -c %s "$DIR/ref.prom")"
printf 'birdc show protocols all median %8.1f ms   output   %8d bytes\n' "$(awk -v x="$cm" 'BEGIN {print x*1000}')" "$(stat -c %s "$DIR/birdc.txt")"
printf 'sampler short poll       mean   %8.1f ms   (show protocols, %d polls, every collector.bird.sampler-interval)\n' "$(awk -v x="$short_mean" 'BEGIN {print x*1000}')" "$short_n"
printf 'sampler detailed read    mean   %8.1f ms   (status, protocols all, counts, memory, BFD; %d reads)\n' "$(awk -v x="$detail_mean" 'BEGIN {print x*1000}')" "$detail_n"
awk -v a="$am" -v b="$bm" -v c="$cm" 'BEGIN {printf "ratio agent scrape / bird_exporter: %.3f (goal <= 0.1)\nratio agent scrape / birdc:         %.2f (goal <= 3)\n", a/b, a/c}'
awk -v a="$am" -v d="$detail_mean" -v b="$bm" -v c="$cm" 'BEGIN {printf "ratio (scrape + detailed read) / bird_exporter: %.3f\nratio (scrape + detailed read) / birdc:         %.2f (what a scrape cost when it read BIRD itself)\n", (a+d)/b, (a+d)/c}'
awk -v s="$short_mean" -v d="$detail_mean" 'BEGIN {printf "sampler busy share at the defaults (1 s short, 5 s detail): %.1f %%\n", 100 * (s/1 + d/5)}'
awk -v a="$agent_hwm" -v b="$ref_hwm" 'BEGIN {printf "peak RSS: agent %.1f MiB, bird_exporter %.1f MiB, ratio %.2f (goal <= 0.5)\n", a/1024, b/1024, a/b}'
awk -v a="$agent_idle" -v b="$ref_idle" 'BEGIN {printf "RSS before the first scrape: agent %.1f MiB, bird_exporter %.1f MiB\n", a/1024, b/1024}'
echo "BGP sessions in the agent's output: $bgp_ok of $PROTOCOLS"
