#!/usr/bin/env bash
# Fuzzes the tinc log block finder and every pure tinc parser (Fuzz/TincParsers) with libFuzzer
# and AddressSanitizer for FUZZ_SECONDS (default 60). The corpus starts from the fixtures and
# grows under .build-fuzz-tinc/corpus; a crash leaves its input in .build-fuzz-tinc/crash-* and
# fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SWIFTC=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}
OUT=.build-fuzz-tinc
mkdir -p "$OUT/corpus"

# The parsers with what they need; the daemon clients need swift-log and Dispatch.
source scripts/fuzz-sources.sh  # the script runs from the repository root
copy_tinc_sources
build_fuzzer fuzz-tinc TincFuzz Fuzz/TincParsers/main.swift openssl

# Seeds: the captured logs, the synthetic 1.1 transcripts, tinc.conf and host files. The
# 436 KB generated 64-node dump stays out; inputs are capped at 16 KB (-max_len), which holds
# every captured log, so the fuzzer spends its time on many inputs instead of a few huge ones.
find Tests/TincControlTests/Fixtures -type f ! -name '*generated*' -size -64k -exec cp {} "$OUT/corpus/" \;

source scripts/fuzz-run.sh
run_fuzzer fuzz-tinc "$OUT/fuzz-tinc" 16384
