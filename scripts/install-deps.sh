#!/usr/bin/env bash
# The one list of Debian 12 packages bgpmesh-agent needs to build, test and run its lab.
# Idempotent: installs only what is missing, runs `apt-get update` only then, and never starts
# the packaged services (the lab starts its own daemons in network namespaces).
set -euo pipefail

# Groups: with no argument the script installs DEFAULT_GROUPS (build, tests, lab, benchmarks);
# the Dockerfiles in docker/ run it with the groups their image needs (`install-deps.sh mesh tools`).
declare -A GROUPS_OF=(
  [build]="pkg-config zlib1g-dev libcurl4-openssl-dev libyaml-dev libssl-dev"
  [mesh]="bird2 tinc"
  [etcd]="etcd-server etcd-client"
  [monitoring]="prometheus prometheus-alertmanager prometheus-bird-exporter"
  [tools]="iproute2 util-linux curl jq procps openssl iputils-ping"
  [bench]="wrk"
  [checks]="python3-yaml docker-compose"
  [browser]="chromium"
  [deploy]="ansible ansible-lint systemd"
  [agent-runtime]="libcurl4 libssl3 zlib1g libyaml-0-2 ca-certificates libcap2-bin"
)
# Why each group is needed; printed next to what gets installed.
declare -A WHY_OF=(
  [build]="the Swift build's system library shims (zlib, libcurl and libcrypto headers, libyaml)"
  [mesh]="the mesh daemons the tests and the lab run (BIRD 2, tinc 1.0)"
  [etcd]="the registry's etcd, run by the tests and the lab"
  [monitoring]="promtool/amtool checks, the lab's Prometheus and Alertmanager, bench-http's bird_exporter"
  [tools]="lab plumbing and test helpers (ip, nsenter, curl, jq, openssl, ping)"
  [bench]="the HTTP benchmark (make bench-http)"
  [checks]="static checks of the monitoring bundle and the Docker stack"
  [browser]="headless Chromium for the mesh map's lab test (LabMapTests) and the docs' screenshots"
  [deploy]="deploy/: ansible-lint and the lab's Ansible run of the role, systemd-analyze verify of the unit"
  [agent-runtime]="images only: what the agent binary links at run time, and setcap"
)
DEFAULT_GROUPS=(build mesh etcd monitoring tools bench checks browser deploy)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=("${DEFAULT_GROUPS[@]}")
PACKAGES=()
for g in "${groups[@]}"; do
  if [ -z "${GROUPS_OF[$g]+set}" ]; then
    echo "install-deps: unknown group '$g' (groups: ${!GROUPS_OF[*]})" >&2
    exit 2
  fi
  # shellcheck disable=SC2206
  PACKAGES+=(${GROUPS_OF[$g]})
done

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
reasons=()
for g in "${groups[@]}"; do
  group_missing=()
  # shellcheck disable=SC2206
  for p in ${GROUPS_OF[$g]}; do
    installed "$p" || [[ " ${missing[*]} " == *" $p "* ]] || group_missing+=("$p")
  done
  if [ ${#group_missing[@]} -gt 0 ]; then
    missing+=("${group_missing[@]}")
    reasons+=("  ${group_missing[*]}: ${WHY_OF[$g]} (group $g)")
  fi
done

# The lab's `fault loss` compiles an XDP program (clang -target bpf) and attaches it with iproute2,
# which Debian 12 builds with libbpf (its libbpf1 dependency). Swift's own clang
# (/opt/swift/usr/bin/clang) has the BPF target; Debian's clang is installed only when no clang
# with that target is found.
bpf_clang() {
  local c
  for c in "$(command -v clang 2>/dev/null || true)" /opt/swift/usr/bin/clang; do
    if [ -n "$c" ] && [ -x "$c" ] && "$c" -print-targets 2>/dev/null | grep -qw bpf; then return 0; fi
  done
  return 1
}
if [[ " ${groups[*]} " == *" tools "* ]] && ! installed clang && ! bpf_clang; then
  missing+=(clang)
  reasons+=("  clang: the lab's \`fault loss\` compiles an XDP program, and no clang with the BPF target was found (Swift's /opt/swift/usr/bin/clang has one)")
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: ${#missing[@]} of ${#PACKAGES[@]} Debian packages are missing; run as root (apt-get needs it):" >&2
  printf '%s\n' "${reasons[@]}" >&2
  exit 1
fi

echo "install-deps: installing ${#missing[@]} missing Debian packages (of ${#PACKAGES[@]}) with apt-get:"
printf '%s\n' "${reasons[@]}"
export DEBIAN_FRONTEND=noninteractive
# Keep maintainer scripts from starting bird, etcd, prometheus... (invoke-rc.d honours policy-rc.d).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
