#!/usr/bin/env bash
# Fuzzes the BIRD reply framer and parsers (Fuzz/BIRDParsers) with libFuzzer and AddressSanitizer
# for FUZZ_SECONDS (default 60). The corpus starts from the captured fixtures and grows under
# .build-fuzz-bird/corpus; a crash leaves its input in .build-fuzz-bird/crash-* and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SWIFTC=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}
OUT=.build-fuzz-bird
mkdir -p "$OUT/corpus"

# The pure sources only: the client files need swift-log, Dispatch and sockets.
mapfile -t SOURCES < <(grep -L -E 'import (Logging|Dispatch|POSIXSupport)|BIRDControlError|Syscall\.|FileDescriptor' Sources/BIRDControl/*.swift)
echo "fuzz-bird: compiling ${#SOURCES[@]} parser sources with -sanitize=fuzzer,address"
"$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -g -module-name BIRDFuzz \
    -use-ld=lld "${SOURCES[@]}" Fuzz/BIRDParsers/main.swift -o "$OUT/fuzz-bird"

cp Tests/BIRDControlTests/Fixtures/*.txt "$OUT/corpus/"

# shellcheck source=scripts/fuzz-run.sh
source scripts/fuzz-run.sh  # the script runs from the repository root
run_fuzzer fuzz-bird "$OUT/fuzz-bird" 65536
