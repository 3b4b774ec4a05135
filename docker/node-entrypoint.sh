#!/usr/bin/env bash
# Entrypoint of the bgpmesh node image: renders this node's BIRD and tinc configuration from the
# environment, then runs tincd and BIRD in the foreground. It generates this node's own tinc key
# once, and nothing else: other nodes' host keys and ConnectTo lines are the agent's job (it writes
# hosts/<peer> and conf.d/bgpmesh.conf into the shared tinc directory).
#
#   node-entrypoint.sh          render, then run tincd and BIRD until one of them exits
#   node-entrypoint.sh render   render only (BGPMESH_ROOT=/some/dir renders below that directory)
#
# Environment (required): NODE_NAME, OVERLAY4, OVERLAY6, PREFIX4, PREFIX6.
# Optional: BGP_ASN (65000), ROUTER_ID (OVERLAY4), BGP_PEERS ("name=overlay4 ..." for iBGP),
#   NODE_ADDRESS (underlay address or host name peers use, default: the host name), TINC_PORT (655),
#   TINC_NET (bgpmesh), TINC_KEY_BITS (2048), AGENT_GID (10179: group of the agent, which may
#   write hosts/ and conf.d/ and read BIRD's socket).
set -euo pipefail

die() { echo "node-entrypoint: $*" >&2; exit 1; }
for v in NODE_NAME OVERLAY4 OVERLAY6 PREFIX4 PREFIX6; do
  [ -n "${!v:-}" ] || die "$v is not set"
done
[[ "$NODE_NAME" =~ ^[A-Za-z0-9_]+$ ]] || die "NODE_NAME '$NODE_NAME' is no tinc node name ([A-Za-z0-9_]+)"
ROOT="${BGPMESH_ROOT:-}"
NET="${TINC_NET:-bgpmesh}"
ASN="${BGP_ASN:-65000}"
ROUTER_ID="${ROUTER_ID:-$OVERLAY4}"
TINC_PORT="${TINC_PORT:-655}"
NODE_ADDRESS="${NODE_ADDRESS:-$(hostname)}"
AGENT_GID="${AGENT_GID:-10179}"
TINC_DIR="$ROOT/etc/tinc/$NET"
BIRD_CONF="$ROOT/etc/bird/bird.conf"
BIRD_SOCKET="$ROOT/run/bird/bird.ctl"
TINC_PIDFILE="$ROOT/run/tinc/tinc.$NET.pid"
TINC_LOG="$ROOT/var/log/tinc/tinc.$NET.log"

render_tinc() {
  mkdir -p "$TINC_DIR/hosts" "$TINC_DIR/conf.d" "$(dirname "$TINC_PIDFILE")" "$(dirname "$TINC_LOG")"
  cat > "$TINC_DIR/tinc.conf" <<CONF
# Written by node-entrypoint.sh. The agent manages ConnectTo lines in conf.d/bgpmesh.conf.
Name = $NODE_NAME
Mode = switch
Interface = tinc0
AddressFamily = ipv4
Port = $TINC_PORT
CONF
  # tinc0 is persistent (made before tincd starts, see make_interface): a tincd restart (a key
  # rotation) runs tinc-up again on an interface that keeps its addresses, so `replace`, not
  # `add`; and tinc-down leaves it up, since setting it down would drop its IPv6 address and every
  # route through it (BIRD's too) on each restart.
  cat > "$TINC_DIR/tinc-up" <<'UP'
#!/bin/sh
ip link set dev "$INTERFACE" mtu 1400 up
UP
  cat >> "$TINC_DIR/tinc-up" <<UP
ip addr replace $OVERLAY4/24 dev "\$INTERFACE"
ip -6 addr replace $OVERLAY6/64 dev "\$INTERFACE" nodad
UP
  printf '#!/bin/sh\n# tinc0 is persistent: keep it up, with its addresses and routes, across a tincd restart.\nexit 0\n' \
    > "$TINC_DIR/tinc-down"
  chmod 755 "$TINC_DIR/tinc-up" "$TINC_DIR/tinc-down"
  # This node's own key, once; its host file keeps the key tincd -K appended.
  local host="$TINC_DIR/hosts/$NODE_NAME"
  if [ ! -s "$TINC_DIR/rsa_key.priv" ]; then
    printf 'Address = %s\nPort = %s\nSubnet = %s/32\n' "$NODE_ADDRESS" "$TINC_PORT" "$OVERLAY4" > "$host"
    tincd -n "$NET" -c "$TINC_DIR" -K "${TINC_KEY_BITS:-2048}" </dev/null >/dev/null 2>&1 \
      || die "tincd -K failed in $TINC_DIR"
  fi
  grep -q -- "-----BEGIN RSA PUBLIC KEY-----" "$host" || die "$host has no public key"
  chmod 600 "$TINC_DIR/rsa_key.priv"
  # The agent (group AGENT_GID) adds peers' host files and ConnectTo lines.
  if [ "$(id -u)" = 0 ]; then
    chgrp "$AGENT_GID" "$TINC_DIR/hosts" "$TINC_DIR/conf.d" "$(dirname "$TINC_LOG")"
    chmod 2775 "$TINC_DIR/hosts" "$TINC_DIR/conf.d"
    chmod 2750 "$(dirname "$TINC_LOG")"
  fi
}

render_bird() {
  mkdir -p "$(dirname "$BIRD_CONF")" "$(dirname "$BIRD_SOCKET")"
  {
    echo "# Written by node-entrypoint.sh for BIRD 2."
    echo "router id $ROUTER_ID;"
    echo "timeformat protocol iso long ms;"
    echo ""
    echo "protocol device { scan time 10; }"
    echo "protocol direct { ipv4; ipv6; interface \"tinc0\"; }"
    echo "protocol kernel kernel4 { ipv4 { import none; export where source = RTS_BGP; }; }"
    echo "protocol kernel kernel6 { ipv6 { import none; export where source = RTS_BGP; }; }"
    echo "protocol static static4 { ipv4; route $PREFIX4 blackhole; }"
    echo "protocol static static6 { ipv6; route $PREFIX6 blackhole; }"
    echo ""
    echo "template bgp mesh {"
    echo "  local $OVERLAY4 as $ASN;"
    echo "  direct;"
    echo "  # tinc0 loses its carrier while tincd restarts; the session rides that out."
    echo "  check link no;"
    echo "  connect retry time 10;"
    echo "  error wait time 10, 60;"
    echo "  ipv4 { import all; export where source = RTS_STATIC; next hop self; gateway direct; };"
    echo "  ipv6 { import all; export where source = RTS_STATIC; next hop self; next hop address $OVERLAY6; gateway direct; };"
    echo "}"
    for p in ${BGP_PEERS:-}; do
      local name="${p%%=*}" addr="${p#*=}"
      [[ "$name" =~ ^[A-Za-z0-9_]+$ && "$addr" != "$p" ]] || die "BGP_PEERS entry '$p' is not name=address"
      [ "$name" = "$NODE_NAME" ] && continue
      echo "protocol bgp $name from mesh { neighbor $addr as $ASN; }"
    done
  } > "$BIRD_CONF"
}

# tinc0 as a persistent TAP device (Mode = switch), before tincd starts: tinc 1.0 then attaches to
# it instead of creating a device that vanishes, with its addresses and routes, when tincd exits.
make_interface() {
  ip link show dev tinc0 >/dev/null 2>&1 && return 0
  ip tuntap add dev tinc0 mode tap || die "cannot create the persistent tinc0 (NET_ADMIN and /dev/net/tun needed)"
}

render_tinc
render_bird
[ "${1:-run}" = render ] && { echo "node-entrypoint: rendered $TINC_DIR and $BIRD_CONF"; exit 0; }
[ "${1:-run}" = run ] || die "unknown command '$1' (run or render)"

bird -p -c "$BIRD_CONF" || die "BIRD rejects $BIRD_CONF"
rm -f "$BIRD_SOCKET"
make_interface
tincd -n "$NET" -c "$TINC_DIR" -D --logfile="$TINC_LOG" --pidfile="$TINC_PIDFILE" &
tinc_pid=$!
bird -f -c "$BIRD_CONF" -s "$BIRD_SOCKET" &
bird_pid=$!
# The agent reads BIRD's socket as group AGENT_GID.
for _ in $(seq 50); do [ -S "$BIRD_SOCKET" ] && break; sleep 0.1; done
[ -S "$BIRD_SOCKET" ] && chgrp "$AGENT_GID" "$BIRD_SOCKET" && chmod 660 "$BIRD_SOCKET"
trap 'kill -TERM $tinc_pid $bird_pid 2>/dev/null' TERM INT
# Either daemon exiting ends the container, so its restart policy starts both again.
wait -n "$tinc_pid" "$bird_pid" || true
echo "node-entrypoint: a daemon exited; stopping" >&2
kill -TERM "$tinc_pid" "$bird_pid" 2>/dev/null || true
wait || true
exit 1
