#!/usr/bin/env bash
# Generates the RSA key fixtures of the trust tests with the real tincd 1.0 (`tincd -K 2048`),
# one temporary net directory per name, and copies tinc's own files out unchanged:
# rsa_key.priv (PKCS#1 private key, mode 600) and hosts/<name> (PKCS#1 public key).
# Usage: scripts/capture-tinc-keys.sh DEST NAME...
set -euo pipefail
dest=$1; shift
tincd=${TINCD:-$(command -v tincd || echo /usr/sbin/tincd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for name in "$@"; do
    mkdir -p "$work/$name/hosts" "$dest/$name"
    printf 'Name = %s\n' "$name" > "$work/$name/tinc.conf"
    "$tincd" -c "$work/$name" -K 2048 < /dev/null > /dev/null 2>&1
    install -m 600 "$work/$name/rsa_key.priv" "$dest/$name/rsa_key.priv"
    install -m 644 "$work/$name/hosts/$name" "$dest/$name/$name.pub"
done
"$tincd" --version | head -1 > "$dest/GENERATED-BY"
echo "generated with: scripts/capture-tinc-keys.sh $dest $*" >> "$dest/GENERATED-BY"
