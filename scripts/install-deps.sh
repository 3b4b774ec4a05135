#!/usr/bin/env bash
# The one list of Debian 12 packages bgpmesh-agent needs to build, test and run its lab.
# Idempotent: installs only what is missing, runs `apt-get update` only then, and never starts
# the packaged services (the lab starts its own daemons in network namespaces).
set -euo pipefail

PACKAGES=(
  # build: system library shims
  pkg-config zlib1g-dev libcurl4-openssl-dev libyaml-dev
  # the mesh daemons
  bird2 tinc etcd-server etcd-client
  # monitoring
  prometheus prometheus-alertmanager prometheus-bird-exporter
  # lab plumbing and tests
  iproute2 util-linux curl jq procps openssl
  # benchmarks
  wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root (apt-get needs it)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
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
echo "install-deps: done"
