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

# One module: TincControl's and POSIXSupport's sources (as fuzz-tinc.sh picks them), NodeRecord
# and the trust pieces that do no file I/O, with their module imports dropped.
source scripts/fuzz-sources.sh
copy_tinc_sources
for file in Sources/MeshAgent/Registry/NodeRecord.swift Sources/MeshAgent/Trust/{CanonicalRecord,SignedRecord,Pin,EnrollmentStatement,TrustDecision}.swift; do
    grep -v '^import TincControl$' "$file" > "$OUT/src/$(basename "$file")"
done
"$CLANG" -O1 -g -c Sources/COpenSSL/copenssl.c -I Sources/COpenSSL/include -o "$OUT/copenssl.o"
echo "fuzz-trust: compiling ${#TINC_SOURCES[@]} TincControl and POSIXSupport sources and the trust sources with -sanitize=fuzzer,address"
"$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -g -module-name TrustFuzz \
    -I Sources/COpenSSL/include "$OUT/copenssl.o" -ldl -use-ld=lld \
    "$OUT"/src/*.swift Fuzz/TrustRecords/main.swift -o "$OUT/fuzz-trust"

cp Tests/MeshAgentTests/Fixtures/trust/* "$OUT/corpus/"

source scripts/fuzz-run.sh  # the script runs from the repository root
run_fuzzer fuzz-trust "$OUT/fuzz-trust" 8192
