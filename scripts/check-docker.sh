#!/usr/bin/env bash
# Static checks of docker/ where no Docker engine exists:
#  1. docker-compose.yml passes `docker-compose config` and has the seed's topology;
#  2. node-entrypoint.sh renders each compose node's configuration from its environment:
#     `bird -p` parses bird.conf, and tincd 1.0 starts on the rendered tinc directory (in a
#     throwaway network namespace, no ConnectTo, so it sends nothing) and reports Ready;
#  3. a second render keeps the node's key, and a bad node name is refused;
#  2b. a tincd restart keeps the persistent tinc0 the entrypoint makes (index and addresses).
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "check-docker: FAILED: $*" >&2; exit 1; }
for tool in docker-compose python3 bird tincd; do
  command -v "$tool" >/dev/null || fail "$tool is missing; run scripts/install-deps.sh"
done
tmp=$(mktemp -d /tmp/bgpmesh-check-docker.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# 1. compose
docker-compose -f docker/docker-compose.yml config > "$tmp/compose.yml" 2> "$tmp/compose.err" \
  || fail "docker-compose config: $(cat "$tmp/compose.err")"
python3 - "$tmp/compose.yml" "$tmp" <<'PY' || fail "docker-compose.yml topology (above)"
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]
want = {"node1", "node2", "node3", "agent1", "agent2", "agent3", "etcd1", "etcd2", "etcd3",
        "prometheus", "alertmanager", "grafana"}
problems = []
if set(s) != want:
    problems.append(f"services {sorted(s)}, expected {sorted(want)}")
for i in (1, 2, 3):
    a = s.get(f"agent{i}", {})
    if a.get("network_mode") != f"service:node{i}" or a.get("pid") != f"service:node{i}":
        problems.append(f"agent{i} does not share node{i}'s network and PID namespaces")
    if str(a.get("user", "")).split(":")[0] in ("", "0", "root"):
        problems.append(f"agent{i} runs as root")
    if a.get("cap_drop") != ["ALL"] or sorted(a.get("cap_add", [])) != ["KILL", "NET_RAW"]:
        problems.append(f"agent{i} capabilities {a.get('cap_drop')} + {a.get('cap_add')}, expected ALL dropped + KILL, NET_RAW")
    env = s.get(f"node{i}", {}).get("environment", {})
    with open(f"{sys.argv[2]}/node{i}.env", "w") as f:
        for k, v in env.items():
            f.write(f"{k}={v}\n")
def mounts(name):
    return [v.get("target") if isinstance(v, dict) else v.split(":")[1] for v in s.get(name, {}).get("volumes", [])]
for svc, target in [("prometheus", "/etc/prometheus"), ("alertmanager", "/etc/alertmanager/alertmanager.yml"),
                    ("grafana", "/etc/grafana/provisioning"), ("grafana", "/var/lib/grafana/dashboards/bgpmesh")]:
    if target not in mounts(svc):
        problems.append(f"{svc} does not mount {target}")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
PY
echo "check-docker: docker-compose config OK (12 services)"

# The images take their packages from install-deps.sh's groups, the lab's list, and from nowhere else.
for f in docker/*.Dockerfile; do
  grep -q 'apt-get install' "$f" && fail "$f installs packages itself; add them to a group of scripts/install-deps.sh"
  groups=$(grep -o 'bash [^ ]*install-deps\.sh [a-z -]*' "$f" | sed 's/^bash [^ ]*install-deps\.sh//') \
    || fail "$f does not run scripts/install-deps.sh"
  for g in $groups; do
    grep -q "^  \[$g\]=" scripts/install-deps.sh || fail "$f uses install-deps.sh group '$g', which does not exist"
  done
done
echo "check-docker: images install their packages from scripts/install-deps.sh groups"

# 2. entrypoint rendering, bird -p, tincd
can_run_tincd=1
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ] || ! unshare --net true 2>/dev/null; then
  can_run_tincd=0
  echo "*** check-docker: SKIPPED LOUDLY: starting tincd on the rendered config needs root, /dev/net/tun and unshare --net ***"
fi
for i in 1 2 3; do
  root="$tmp/root$i"
  mkdir -p "$root"
  mapfile -t node_env < "$tmp/node$i.env"
  out=$(env -i PATH="$PATH" BGPMESH_ROOT="$root" NODE_ADDRESS="192.0.2.1$i" "${node_env[@]}" \
        bash docker/node-entrypoint.sh render 2>&1) || fail "node$i render: $out"
  conf="$root/etc/bird/bird.conf"
  bird -p -c "$conf" > "$tmp/bird.out" 2>&1 || fail "node$i: bird -p -c $conf: $(cat "$tmp/bird.out")"
  [ "$(grep -c '^protocol bgp ' "$conf")" = 2 ] || fail "node$i: bird.conf should have 2 BGP sessions"
  dir="$root/etc/tinc/bgpmesh"
  grep -qx "Name = node$i" "$dir/tinc.conf" || fail "node$i: tinc.conf has no Name = node$i"
  grep -q '^ConnectTo' "$dir/tinc.conf" && fail "node$i: the entrypoint must not write ConnectTo lines (the agent's job)"
  [ "$(ls "$dir/hosts")" = "node$i" ] || fail "node$i: hosts/ must hold only this node's own file, has: $(ls "$dir/hosts")"
  openssl rsa -RSAPublicKey_in -in "$dir/hosts/node$i" -noout 2>/dev/null || fail "node$i: hosts/node$i has no valid RSA public key"
  key=$(sha256sum "$dir/rsa_key.priv")
  out=$(env -i PATH="$PATH" BGPMESH_ROOT="$root" NODE_ADDRESS="192.0.2.1$i" "${node_env[@]}" \
        bash docker/node-entrypoint.sh render 2>&1) || fail "node$i second render: $out"
  [ "$(sha256sum "$dir/rsa_key.priv")" = "$key" ] || fail "node$i: a second render replaced the node's key"
  if [ "$can_run_tincd" = 1 ]; then
    log="$tmp/tincd$i.log"
    timeout 10 unshare --net tincd -n bgpmesh -c "$dir" -D -d1 --logfile="$log" --pidfile="$tmp/tincd$i.pid" 2>"$tmp/tincd$i.err" &
    pid=$!
    ok=0
    for _ in $(seq 50); do
      grep -q "Ready" "$log" 2>/dev/null && { ok=1; break; }
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ "$ok" = 1 ] || fail "node$i: tincd did not start on $dir: $(cat "$tmp/tincd$i.err"; tail -5 "$log" 2>/dev/null)"
  fi
  grep -q 'addr add' "$dir/tinc-up" && fail "node$i: tinc-up must use 'ip addr replace' (it runs again on the persistent tinc0)"
  grep -q 'ip link' "$dir/tinc-down" && fail "node$i: tinc-down must leave the persistent tinc0 up"
  echo "check-docker: node$i renders; bird -p OK; tincd $([ "$can_run_tincd" = 1 ] && echo Ready || echo 'not started')"
done

# 2b. the persistent interface: in a throwaway network namespace, tinc0 made as the entrypoint's
#     `run` makes it, tincd started on node1's rendered config, stopped and started again: the same
#     interface index and the same addresses afterwards.
if [ "$can_run_tincd" = 1 ]; then
  dir="$tmp/root1/etc/tinc/bgpmesh"
  cat > "$tmp/persist.sh" <<'SH'
set -eu
dir=$1; tmp=$2
ip link set lo up
ip tuntap add dev tinc0 mode tap
before=$(ip -o link show dev tinc0 | cut -d: -f1)
run() {  # start tincd, wait for Ready and tinc-up's addresses, stop it
  : > "$tmp/persist.log"
  tincd -n bgpmesh -c "$dir" -D --logfile="$tmp/persist.log" --pidfile="$tmp/persist.pid" 2>>"$tmp/persist.err" &
  pid=$!
  for _ in $(seq 50); do
    grep -q Ready "$tmp/persist.log" && ip -o addr show dev tinc0 | grep -q 'inet6 2001:db8::1/64' && break
    sleep 0.1
  done
  ip -o addr show dev tinc0 scope global | awk '{print $3, $4}' | sort > "$tmp/addrs.$1"
  kill -TERM "$pid"; wait "$pid" || true
}
run first
run second
after=$(ip -o link show dev tinc0 | cut -d: -f1)
[ "$before" = "$after" ] || { echo "tinc0's index changed across a tincd restart: $before -> $after"; exit 1; }
ip -o addr show dev tinc0 scope global | awk '{print $3, $4}' | sort > "$tmp/addrs.stopped"
[ -s "$tmp/addrs.first" ] || { echo "tinc-up set no address: $(cat "$tmp/persist.err")"; exit 1; }
cmp -s "$tmp/addrs.first" "$tmp/addrs.second" || { echo "addresses differ after the restart"; exit 1; }
cmp -s "$tmp/addrs.first" "$tmp/addrs.stopped" || { echo "tincd's exit removed addresses: $(cat "$tmp/addrs.stopped")"; exit 1; }
SH
  out=$(timeout 30 unshare --net bash "$tmp/persist.sh" "$dir" "$tmp" 2>&1) \
    || fail "persistent tinc0: $out"
  echo "check-docker: a tincd restart keeps the persistent tinc0 (index and addresses)"
fi

# 3. a bad node name is refused with a message
if out=$(env -i PATH="$PATH" BGPMESH_ROOT="$tmp/bad" NODE_NAME="bad-name" OVERLAY4=198.51.100.9 OVERLAY6=2001:db8::9 \
         PREFIX4=203.0.113.9/32 PREFIX6=2001:db8:ff:9::/64 bash docker/node-entrypoint.sh render 2>&1); then
  fail "a node name with '-' was accepted"
fi
grep -q "no tinc node name" <<<"$out" || fail "bad node name: unexpected message: $out"
echo "check-docker: OK"
