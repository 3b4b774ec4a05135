#!/usr/bin/env bash
# Fuzzes the Alertmanager webhook payload decoder and the mapping of its alerts to repair
# requests (Fuzz/AlertmanagerPayload) with libFuzzer and AddressSanitizer for FUZZ_SECONDS
# (default 60). The corpus starts from the payloads Alertmanager 0.25 sent in the lab
# (Tests/MeshAgentTests/Fixtures/alertmanager) and grows under .build-fuzz-alerts/corpus; a
# crash leaves its input in .build-fuzz-alerts/crash-* and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SWIFTC=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}
OUT=.build-fuzz-alerts
mkdir -p "$OUT/corpus"

# The decoder, the triage and the request type; APIRoutes itself needs the HTTP server and swift-log.
ALERT_SOURCES=(
    Sources/MeshAgent/Web/AlertmanagerPayload.swift
    Sources/MeshAgent/Web/AlertmanagerPayload+Triage.swift
    Sources/MeshAgent/Web/RepairService.swift
)
source scripts/fuzz-sources.sh  # the script runs from the repository root
rm -rf "$OUT/src"
copy_sources "${ALERT_SOURCES[@]}"
build_fuzzer fuzz-alerts AlertsFuzz Fuzz/AlertmanagerPayload/main.swift

cp Tests/MeshAgentTests/Fixtures/alertmanager/*.json "$OUT/corpus/"
seed_regressions Fuzz/AlertmanagerPayload/regressions

source scripts/fuzz-run.sh
run_fuzzer fuzz-alerts "$OUT/fuzz-alerts" 16384
