#!/usr/bin/env python3
"""Capture raw BIRD control-socket replies as test fixtures.

usage: capture-bird.py SOCKET OUTDIR [--suffix S] [--no-restrict] CMD...

Writes OUTDIR/<cmd with spaces as dashes><suffix>.txt holding the exact bytes
BIRD sent for that command (reply codes included). banner.txt holds the
greeting, restrict.txt the reply to `restrict`.
"""
import socket, sys, os, time

def read_reply(s):
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("BIRD closed the socket")
        buf += chunk
        # A reply ends at a line whose fifth byte is a space (code + ' ').
        lines = buf.split(b"\n")
        for line in lines[:-1]:
            if len(line) >= 5 and line[:4].isdigit() and line[4:5] == b" ":
                return buf

def main():
    args = sys.argv[1:]
    sock, out = args[0], args[1]
    suffix, restrict, cmds = "", True, []
    i = 2
    while i < len(args):
        if args[i] == "--suffix":
            suffix = args[i + 1]; i += 2; continue
        if args[i] == "--no-restrict":
            restrict = False; i += 1; continue
        cmds.append(args[i]); i += 1
    os.makedirs(out, exist_ok=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.settimeout(10)
    open(os.path.join(out, "banner.txt"), "wb").write(read_reply(s))
    if restrict:
        s.sendall(b"restrict\n")
        open(os.path.join(out, "restrict.txt"), "wb").write(read_reply(s))
    for cmd in cmds:
        s.sendall(cmd.encode() + b"\n")
        data = read_reply(s)
        name = cmd.replace(" ", "-").replace('"', "") + suffix + ".txt"
        open(os.path.join(out, name), "wb").write(data)
        print(f"{name}: {len(data)} bytes")

main()
