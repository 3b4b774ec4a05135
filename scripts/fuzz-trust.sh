#!/usr/bin/env bash
# Fuzzes the path an etcd value under nodes/ takes before it can become a host file
# (Fuzz/TrustRecords): RegistryRecordCheck (shape, size, key, fields) and the host file it
# renders, the signed record envelope, its signature and the trust decision, enrollment
# statements, and IPPrefix. libFuzzer and AddressSanitizer, FUZZ_SECONDS (default 60). The corpus
# starts from the checked-in signed values and grows under .build-fuzz-trust/corpus; a crash
# leaves its input in .build-fuzz-trust/crash-* and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SWIFTC=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}
OUT=.build-fuzz-trust
mkdir -p "$OUT/corpus"

# One module: TincControl's and POSIXSupport's pure sources, and the registry and trust sources
# that do no file or network I/O. A new pure dependency of the record check goes in this list.
RECORD_SOURCES=(
    Sources/MeshAgent/Registry/NodeRecord.swift
    Sources/MeshAgent/Registry/RegistryRecordCheck.swift
    Sources/MeshAgent/Registry/IPPrefix.swift
    Sources/MeshAgent/Collectors/Probe/ProbeAddress.swift
    Sources/MeshAgent/Trust/CanonicalRecord.swift
    Sources/MeshAgent/Trust/SignedRecord.swift
    Sources/MeshAgent/Trust/Pin.swift
    Sources/MeshAgent/Trust/EnrollmentStatement.swift
    Sources/MeshAgent/Trust/RotationStatement.swift
    Sources/MeshAgent/Trust/TrustDecision.swift
)
source scripts/fuzz-sources.sh  # the script runs from the repository root
copy_tinc_sources
copy_sources "${RECORD_SOURCES[@]}"
build_fuzzer fuzz-trust TrustFuzz Fuzz/TrustRecords/main.swift openssl

# Seeds: the signed record and enrollment statement of the trust tests, the inputs of earlier
# findings, and the lab's overlay prefixes (one per line) for the IPPrefix part.
cp Tests/MeshAgentTests/Fixtures/trust/* "$OUT/corpus/"
seed_regressions Fuzz/TrustRecords/regressions
printf '198.51.100.0/24\n203.0.113.0/24\n2001:db8::/32\n198.51.100.10\n2001:db8::10/128\n' > "$OUT/corpus/overlay-prefixes"

source scripts/fuzz-run.sh
run_fuzzer fuzz-trust "$OUT/fuzz-trust" 8192
