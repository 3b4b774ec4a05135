#!/usr/bin/env bash
# Fuzzes signed node records, enrollment statements, their verification and the trust decision
# (Fuzz/TrustRecords) with libFuzzer and AddressSanitizer for FUZZ_SECONDS (default 60). The
# corpus starts from the checked-in signed values and grows under .build-fuzz-trust/corpus; a
# crash leaves its input in .build-fuzz-trust/crash-* and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SWIFTC=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}
CLANG=${CLANG:-$(dirname "$SWIFTC")/clang}
OUT=.build-fuzz-trust
mkdir -p "$OUT/corpus" "$OUT/src"

# One module: the pure TincControl sources (as fuzz-tinc.sh picks them), NodeRecord and the trust
# pieces that do no file I/O, with their `import TincControl` lines dropped.
mapfile -t TINC < <(grep -L -E 'import (Logging|Dispatch|POSIXSupport)|TincControlError|TincSyscall\.|FileDescriptor|TincRegularFile' Sources/TincControl/*.swift)
rm -f "$OUT"/src/*.swift
for file in Sources/MeshAgent/Registry/NodeRecord.swift Sources/MeshAgent/Trust/{CanonicalRecord,SignedRecord,Pin,EnrollmentStatement,TrustDecision}.swift; do
    grep -v '^import TincControl$' "$file" > "$OUT/src/$(basename "$file")"
done
"$CLANG" -O1 -g -c Sources/COpenSSL/copenssl.c -I Sources/COpenSSL/include -o "$OUT/copenssl.o"
echo "fuzz-trust: compiling ${#TINC[@]} TincControl sources and the trust sources with -sanitize=fuzzer,address"
"$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -g -module-name TrustFuzz \
    -I Sources/COpenSSL/include "$OUT/copenssl.o" -ldl -use-ld=lld \
    "${TINC[@]}" "$OUT"/src/*.swift Fuzz/TrustRecords/main.swift -o "$OUT/fuzz-trust"

cp Tests/MeshAgentTests/Fixtures/trust/* "$OUT/corpus/"

echo "fuzz-trust: running for ${FUZZ_SECONDS}s"
status=0
SWIFT_BACKTRACE=enable=no "$OUT/fuzz-trust" "$OUT/corpus" \
    -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$OUT/" -print_final_stats=1 || status=$?
if [ "$status" -ne 0 ]; then
    echo "fuzz-trust: FAILED (exit $status); crashing inputs:" >&2
    ls -1 "$OUT"/crash-* "$OUT"/timeout-* "$OUT"/oom-* "$OUT"/leak-* 2>/dev/null >&2 || true
    exit "$status"
fi
echo "fuzz-trust: no crash in ${FUZZ_SECONDS}s"
