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

echo "fuzz-bird: running for ${FUZZ_SECONDS}s"
status=0
"$OUT/fuzz-bird" "$OUT/corpus" \
    -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$OUT/" -print_final_stats=1 || status=$?
if [ "$status" -ne 0 ]; then
    echo "fuzz-bird: FAILED (exit $status); crashing inputs:" >&2
    ls -1 "$OUT"/crash-* "$OUT"/timeout-* "$OUT"/oom-* "$OUT"/leak-* 2>/dev/null >&2 || true
    exit "$status"
fi
echo "fuzz-bird: no crash in ${FUZZ_SECONDS}s"
