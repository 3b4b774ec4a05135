# Sourced by scripts/fuzz-*.sh: runs one libFuzzer binary on its corpus for FUZZ_SECONDS and
# reports. Usage: run_fuzzer NAME BINARY MAX_LEN (the corpus is "$OUT/corpus").
run_fuzzer() {
    local name=$1 binary=$2 max_len=$3 status=0
    echo "$name: running for ${FUZZ_SECONDS}s"
    SWIFT_BACKTRACE=enable=no "$binary" "$OUT/corpus" \
        -max_total_time="$FUZZ_SECONDS" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$OUT/" -print_final_stats=1 || status=$?
    if [ "$status" -ne 0 ]; then
        echo "$name: FAILED (exit $status); crashing inputs:" >&2
        ls -1 "$OUT"/crash-* "$OUT"/timeout-* "$OUT"/oom-* "$OUT"/leak-* 2>/dev/null >&2 || true
        exit "$status"
    fi
    echo "$name: no crash in ${FUZZ_SECONDS}s"
}
