# How the configure-*.txt fixtures were captured from BIRD 2.0.12 (2026-12-06): one BIRD on a temp
# socket, bird.conf with a template and the include the agent writes; each reply is the raw bytes
# after the banner. Run as any user; needs python3 for the raw socket.
set -e
D=/tmp/peerscap; mkdir -p $D; cd $D
cat > bird.conf <<CONF
router id 192.0.2.9;
log "$D/bird.log" all;
protocol device {}
template bgp bgpmesh { local as 65000; ipv4 { import all; export none; }; }
include "$D/peers.conf";
CONF
P='protocol bgp bgpmesh_node2 from bgpmesh { neighbor 198.51.100.2 as 65000; }'
echo "$P" > peers.conf
bird -c bird.conf -s $D/bird.ctl -P $D/bird.pid
raw() { python3 - "$D/bird.ctl" "$@" <<'PY'
import socket, sys
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); read(s); return s
def read(s):
    buf = b""
    while True:
        d = s.recv(65536)
        if not d: return buf
        buf += d
        if any(len(l) >= 5 and l[4:5] == b" " and l[:4].isdigit() for l in buf.split(b"\n")[:-1]): return buf
if sys.argv[2] == "two":   # two configures at once, the second while the first is in progress
    a, b = conn(), conn()
    open(sys.argv[3], "w").write("")
    a.sendall(b"configure\n"); b.sendall(b"configure\n"); read(a)
    sys.stdout.buffer.write(read(b))
else:
    s = conn(); s.sendall(sys.argv[2].encode() + b"\n"); sys.stdout.buffer.write(read(s))
PY
}
raw "configure check" > configure-check-ok.txt
raw "configure" > configure-reconfigured.txt
: > peers.conf; raw "configure" > configure-in-progress.txt          # removing a BGP protocol
echo "$P" > peers.conf; raw configure > /dev/null
raw two $D/peers.conf > configure-queued.txt
echo 'protocol bgp bgpmesh_node3 from nosuch { neighbor 198.51.100.3 as 65000; }' > peers.conf
raw "configure check" > configure-check-error.txt
raw "configure" > configure-error.txt
kill "$(cat bird.pid)"
