#!/usr/bin/env bash
# make bench-idle: the agent's idle footprint against real daemons on this machine, next to
# bird_exporter idle on the same BIRD, measured in the same run.
#
# Daemons (all on loopback, in a temp directory, stopped at exit):
#   - BIRD 2 on a temp socket with PEERS BGP protocols to 127.0.1.x (nothing answers: the
#     sessions stay in Connect/Active, as a mesh whose peers are down would);
#   - tincd 1.0.36 with `DeviceType = dummy` (no TUN/TAP, so no namespace and no root);
#   - a single-member etcd 3.4 on loopback ports (the registry and the etcd collector use it).
# Probes are off unless PROBES=N (then aimed at loopback only); everything else is on, with the
# registry.
#
# For each profile (default flags, then the flags a 64-node lab would use; SCALE_FLAGS
# overrides those) the agent starts, turns ready, settles for WARMUP seconds, then is measured
# for WINDOW seconds while both it and bird_exporter are scraped every SCRAPE seconds (as
# Prometheus would; SCRAPE=0: no scrapes). Printed: RSS (VmRSS, its anonymous part, which no
# other process shares, and an smaps breakdown: malloc
# heap and arenas, thread stacks, the binary, shared libraries), threads, CPU (utime+stime
# over the window, per minute and per second, per thread), wakeups (context switches per
# second, all threads). PERF=1 also samples the agent with perf over the window and prints the
# functions that take its CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

AGENT=${AGENT:-.build/release/bgpmesh-agent}
BIRD_EXPORTER=${BIRD_EXPORTER:-$(command -v prometheus-bird-exporter || true)}
WARMUP=${WARMUP:-20}
WINDOW=${WINDOW:-60}
SCRAPE=${SCRAPE:-15}
PEERS=${PEERS:-8}
PROFILES=${PROFILES:-default scale}
# What a 64-node lab would run (h-lab chooses; see docs/benchmarks.md, "Idle footprint").
SCALE_FLAGS=${SCALE_FLAGS:---collector.bird.sampler-interval 5s --collector.bird.detail-interval 30s --collector.bird.route-count-interval 60s --collector.tinc.min-dump-interval 30s --collector.etcd.interval 30s --repair.interval 5s}
EXTRA_FLAGS=${EXTRA_FLAGS:-}
# PROBES=N turns the probes on with N targets on loopback (127.0.2.1...), as a mesh of N+1 nodes
# would probe its peers (with the profile's probe interval; SCALE_FLAGS may set one).
PROBES=${PROBES:-0}

for tool in bird tincd etcd curl python3 "$BIRD_EXPORTER" "$AGENT"; do
    [ -n "$tool" ] && command -v "$tool" >/dev/null || { echo "bench-idle: missing $tool (run: make deps build)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/bgpmesh-bench-idle.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

# Free loopback ports, chosen by the kernel.
read -r P_ETCD P_ETCD_PEER P_TINC P_AGENT P_REF P_BGP < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks: s.close()
EOF
)

die() { echo "bench-idle: $*" >&2; exit 1; }
# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
    local limit=$1; shift
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done
}

# --- etcd ---------------------------------------------------------------------------------
etcd --name idle --data-dir "$W/etcd" \
    --listen-client-urls "http://127.0.0.1:$P_ETCD" --advertise-client-urls "http://127.0.0.1:$P_ETCD" \
    --listen-peer-urls "http://127.0.0.1:$P_ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$P_ETCD_PEER" \
    --initial-cluster "idle=http://127.0.0.1:$P_ETCD_PEER" --log-level error >"$W/etcd.log" 2>&1 &
pids+=($!)
wait_for 30 curl -fsS "http://127.0.0.1:$P_ETCD/health" || die "etcd did not come up ($W/etcd.log)"

# --- tincd (dummy device) -----------------------------------------------------------------
T=$W/tinc
mkdir -p "$T/hosts" "$T/conf.d"
cat >"$T/tinc.conf" <<EOF
Name = idle1
DeviceType = dummy
AddressFamily = ipv4
BindToAddress = 127.0.0.1
Port = $P_TINC
EOF
printf 'Address = 127.0.0.1\nPort = %s\nSubnet = 198.51.100.1/32\n' "$P_TINC" >"$T/hosts/idle1"
tincd -c "$T" -K 2048 </dev/null >"$W/tinc-keygen.log" 2>&1 || die "tincd -K failed ($W/tinc-keygen.log)"
tincd -c "$T" -D --pidfile "$W/tincd.pid" --logfile "$W/tincd.log" >"$W/tincd.stderr" 2>&1 &
pids+=($!)
wait_for 10 grep -q Ready "$W/tincd.log" || die "tincd did not start ($W/tincd.log)"

# --- BIRD ---------------------------------------------------------------------------------
{
    echo "router id 127.0.0.1;"
    echo "protocol device { scan time 10; }"
    echo "protocol static static4 { ipv4; route 198.51.100.1/32 blackhole; }"
    echo "template bgp mesh { local 127.0.0.1 port $P_BGP as 65000; ipv4 { import all; export all; }; connect retry time 30; }"
    for i in $(seq "$PEERS"); do echo "protocol bgp peer$i from mesh { neighbor 127.0.1.$i port $P_BGP as 65000; }"; done
} >"$W/bird.conf"
bird -f -c "$W/bird.conf" -s "$W/bird.ctl" -P "$W/bird.pid" >"$W/bird.log" 2>&1 &
pids+=($!)
wait_for 10 test -S "$W/bird.ctl" || die "BIRD did not start ($W/bird.log)"

# --- the reference ------------------------------------------------------------------------
"$BIRD_EXPORTER" -web.listen-address "127.0.0.1:$P_REF" -bird.socket "$W/bird.ctl" -bird.v2 >"$W/ref.log" 2>&1 &
ref_pid=$!; pids+=("$ref_pid")
wait_for 10 curl -fsS -o /dev/null "http://127.0.0.1:$P_REF/metrics" || die "bird_exporter did not come up"

HZ=$(getconf CLK_TCK)
# utime+stime of the whole process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Context switches (voluntary, involuntary) summed over every thread: /proc/<pid>/status holds
# the main thread's only.
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {n += $2} END {print v + 0, n + 0}'; }
# Per thread name: threads, utime+stime ticks, voluntary context switches (threads of one name summed).
thread_ticks() {
    python3 - "$1" <<'EOF'
import os, sys
acc = {}
base = f"/proc/{sys.argv[1]}/task"
for tid in os.listdir(base):
    try:
        s = open(f"{base}/{tid}/stat").read()
        vol = next(int(l.split()[1]) for l in open(f"{base}/{tid}/status") if l.startswith("voluntary_ctxt"))
    except (OSError, StopIteration):
        continue
    comm = s[s.index("(") + 1:s.rindex(")")].replace(" ", "_")
    f = s[s.rindex(")") + 2:].split()
    a = acc.setdefault(comm, [0, 0, 0])
    a[0] += 1; a[1] += int(f[11]) + int(f[12]); a[2] += vol
for comm in sorted(acc):
    print(comm, *acc[comm])
EOF
}

# RSS by kind from smaps: malloc (brk heap and glibc arenas), thread stacks, other anonymous,
# the binary, shared libraries, other files.
smaps_breakdown() {
    python3 - "$1" <<'EOF'
import sys, re
maps = []
cur = None
for line in open(f"/proc/{sys.argv[1]}/smaps"):
    m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
    if m:
        cur = {"start": int(m[1], 16), "end": int(m[2], 16), "perms": m[3], "path": m[4].strip(), "rss": 0}
        maps.append(cur)
    elif cur and line.startswith("Rss:"):
        cur["rss"] = int(line.split()[1])
exe = open(f"/proc/{sys.argv[1]}/cmdline").read().split("\0")[0]
kinds = {}
def add(kind, kib): kinds[kind] = kinds.get(kind, 0) + kib
for i, m in enumerate(maps):
    size = (m["end"] - m["start"]) // 1024
    prev = maps[i - 1] if i else None
    nxt = maps[i + 1] if i + 1 < len(maps) else None
    p = m["path"]
    if p == "[heap]": add("malloc heap (brk)", m["rss"])
    elif p == "[stack]": add("main stack", m["rss"])
    elif p.startswith("["): add("other " + p, m["rss"])
    elif p == "":
        # A thread stack: rw memory right above its guard page (glibc's pthread stacks).
        if prev and prev["path"] == "" and prev["perms"].startswith("---") and prev["end"] == m["start"] \
                and (prev["end"] - prev["start"]) <= 64 * 1024:
            add("thread stacks", m["rss"])
        # A glibc malloc arena: 64 MiB reserved, the used part rw, the rest ---.
        elif nxt and nxt["path"] == "" and nxt["perms"].startswith("---") and nxt["start"] == m["end"] \
                and (nxt["end"] - m["start"]) == 64 * 1024 * 1024 and m["start"] % (64 * 1024 * 1024) == 0:
            add("malloc arenas", m["rss"])
        elif (m["end"] - m["start"]) == 64 * 1024 * 1024 and m["start"] % (64 * 1024 * 1024) == 0 and m["perms"].startswith("rw"):
            add("malloc arenas", m["rss"])
        else: add("other anonymous", m["rss"])
    elif p.endswith(exe.split("/")[-1]) or p == exe: add("the binary", m["rss"])
    elif ".so" in p: add("shared libraries", m["rss"])
    else: add("other files", m["rss"])
for k in sorted(kinds, key=lambda k: -kinds[k]):
    print(f"{k}\t{kinds[k]}")
EOF
}

scrape_both() {
    curl -fsS -o /dev/null "http://127.0.0.1:$P_AGENT/metrics" || true
    curl -fsS -o /dev/null "http://127.0.0.1:$P_REF/metrics" || true
}

summary=()
for profile in $PROFILES; do
    case $profile in
        default) flags="" ;;
        scale) flags=$SCALE_FLAGS ;;
        *) die "unknown profile $profile (default, scale)" ;;
    esac
    rm -rf "$W/state"; mkdir -p "$W/state"
    probe_flags="--no-collector.probe"
    if [ "$PROBES" -gt 0 ]; then
        probe_flags=""
        for i in $(seq "$PROBES"); do probe_flags+=" --collector.probe.target peer$i=127.0.2.$i"; done
    fi
    # shellcheck disable=SC2086
    "$AGENT" run --web.listen-address "127.0.0.1:$P_AGENT" --log.level warning \
        --collector.bird.socket "$W/bird.ctl" \
        --collector.tinc.dir "$T" --collector.tinc.pidfile "$W/tincd.pid" --collector.tinc.logfile "$W/tincd.log" \
        --etcd.endpoints "http://127.0.0.1:$P_ETCD" --mesh.overlay-prefixes 198.51.100.0/24 \
        --state.dir "$W/state" $probe_flags $flags $EXTRA_FLAGS >"$W/agent-$profile.log" 2>&1 &
    agent_pid=$!; pids+=("$agent_pid")
    wait_for 30 curl -fsS -o /dev/null "http://127.0.0.1:$P_AGENT/readyz" || die "the agent did not turn ready ($W/agent-$profile.log)"
    # The registry published this node's record: the mesh side is running too.
    wait_for 30 sh -c "curl -fsS 'http://127.0.0.1:$P_AGENT/metrics' | grep -q '^bgpmesh_registry_published 1'" \
        || echo "bench-idle: note: the registry shows no node yet (see $W/agent-$profile.log)" >&2
    scrape_both
    sleep "$WARMUP"

    a0=$(cpu_ticks "$agent_pid"); r0=$(cpu_ticks "$ref_pid")
    read -r av0 an0 < <(switches "$agent_pid"); read -r rv0 rn0 < <(switches "$ref_pid")
    thread_ticks "$agent_pid" >"$W/threads0"
    t0=$(date +%s%N)
    end=$((SECONDS + WINDOW))
    perf_pid=
    if [ "${PERF:-0}" = 1 ]; then
        perf record -q -F 999 -g -p "$agent_pid" -o "$W/perf-$profile.data" -- sleep "$WINDOW" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    if [ "$SCRAPE" -gt 0 ]; then
        while [ $SECONDS -lt $end ]; do
            scrape_both
            left=$((end - SECONDS)); sleep $((left < SCRAPE ? (left > 0 ? left : 0) : SCRAPE))
        done
    else
        sleep "$WINDOW"
    fi
    [ -n "$perf_pid" ] && wait "$perf_pid" || true
    t1=$(date +%s%N)
    a1=$(cpu_ticks "$agent_pid"); r1=$(cpu_ticks "$ref_pid")
    read -r av1 an1 < <(switches "$agent_pid"); read -r rv1 rn1 < <(switches "$ref_pid")
    thread_ticks "$agent_pid" >"$W/threads1"
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print (b - a) / 1e9}')

    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent_pid/status"); ref_rss=$(awk '/^VmRSS/ {print $2}' "/proc/$ref_pid/status")
    threads=$(awk '/^Threads/ {print $2}' "/proc/$agent_pid/status"); ref_threads=$(awk '/^Threads/ {print $2}' "/proc/$ref_pid/status")
    anon=$(awk '/^RssAnon/ {print $2}' "/proc/$agent_pid/status"); ref_anon=$(awk '/^RssAnon/ {print $2}' "/proc/$ref_pid/status")

    echo "== bench-idle, profile $profile: ${WINDOW}s window after ${WARMUP}s warm-up, scrape every ${SCRAPE}s, $PEERS BGP protocols, $PROBES probe targets =="
    [ -n "$flags" ] && echo "flags: $flags"
    awk -v a=$((a1 - a0)) -v r=$((r1 - r0)) -v hz="$HZ" -v s="$secs" \
        -v av=$((av1 - av0)) -v an=$((an1 - an0)) -v rv=$((rv1 - rv0)) -v rn=$((rn1 - rn0)) \
        -v rss="$rss" -v rrss="$ref_rss" -v th="$threads" -v rth="$ref_threads" -v anonk="$anon" -v ranonk="$ref_anon" 'BEGIN {
        ac = a / hz / s; rc = r / hz / s
        printf "                 %14s %14s %8s\n", "agent", "bird_exporter", "ratio"
        printf "RSS (MiB)        %14.1f %14.1f %8.2f\n", rss / 1024, rrss / 1024, rss / rrss
        printf "  of it anonymous%14.1f %14.1f %8.2f\n", anonk / 1024, ranonk / 1024, anonk / ranonk
        printf "threads          %14d %14d\n", th, rth
        printf "CPU s/min        %14.3f %14.3f %8.2f\n", ac * 60, rc * 60, (rc > 0 ? ac / rc : 0)
        printf "CPU ms/s         %14.2f %14.2f\n", ac * 1000, rc * 1000
        printf "wakeups/s (vol)  %14.1f %14.1f %8.2f\n", av / s, rv / s, (rv > 0 ? av / rv : 0)
        printf "ctx sw/s (invol) %14.1f %14.1f\n", an / s, rn / s
        printf "64 agents: %.1f%% of one core, %.0f MiB (goal < 10%%, <= 20 MiB each)\n", ac * 64 * 100, rss * 64 / 1024
    }'
    echo "agent RSS by kind (KiB):"
    smaps_breakdown "$agent_pid" | awk -F'\t' '{printf "  %-22s %8d\n", $1, $2}'
    echo "agent by thread over the window (name, threads, CPU ms/s, wakeups/s):"
    join -a2 -e0 -o 2.1,2.2,1.3,2.3,1.4,2.4 "$W/threads0" "$W/threads1" \
        | awk -v hz="$HZ" -v s="$secs" '{printf "  %-18s %3d %8.2f %8.1f\n", $1, $2, ($4 - $3) / hz / s * 1000, ($6 - $5) / s}' | sort -k3,3gr -k4,4gr
    if [ -n "$perf_pid" ]; then
        echo "agent CPU by function over the window (perf, self time):"
        perf report -q -i "$W/perf-$profile.data" --no-children --sort sym -g none --percent-limit 1 2>/dev/null \
            | grep -v '^$' | head -40 | cut -c1-150 || true
    fi
    summary+=("$profile $rss $(awk -v a=$((a1 - a0)) -v hz="$HZ" -v s="$secs" 'BEGIN {printf "%.3f", a / hz / s * 60}') $threads")
    echo
    kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
done

echo "== bench-idle summary (profile, agent RSS KiB, agent CPU s/min, threads) =="
printf '%s\n' "${summary[@]}"
