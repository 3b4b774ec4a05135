#!/usr/bin/env bash
# Fuzzes the HTTP request parser with libFuzzer + AddressSanitizer for FUZZ_SECONDS (default 60).
# Builds with swiftc from the parser's pure source files only (no sockets, no Logging).
# Exits non-zero when the fuzzer finds a crash; reproducers land in .build-fuzz/http/artifacts/.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
swiftc="${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}"
work=.build-fuzz/http
mkdir -p "$work/corpus" "$work/artifacts"

sources=(
    Sources/HTTPServer/HTTPRequestParser.swift
    Sources/HTTPServer/HTTPRequest.swift
    Sources/HTTPServer/HTTPHeaders.swift
    Sources/HTTPServer/HTTPSyntax.swift
    Fuzz/HTTPRequestParser/main.swift
)
echo "building $work/fuzz-http-parser"
"$swiftc" -sanitize=fuzzer,address -parse-as-library -O -swift-version 6 -module-name HTTPRequestParserFuzz \
    "${sources[@]}" -o "$work/fuzz-http-parser"

# Seeds: the first byte of each input selects limits and a split point (see main.swift).
if [ -z "$(ls -A "$work/corpus")" ]; then
    printf '\x40GET /metrics?x=1 HTTP/1.1\r\nHost: node1\r\nAccept: */*\r\n\r\n' >"$work/corpus/get"
    printf '\x80POST /api/v1/alerts HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.0\r\n\r\n' >"$work/corpus/pipelined"
    printf '\xffPOST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n' >"$work/corpus/chunked"
    printf '\x10GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n' >"$work/corpus/smuggle"
fi
cat >"$work/http.dict" <<'DICT'
"\x0d\x0a"
"\x0d\x0a\x0d\x0a"
" HTTP/1.1\x0d\x0a"
" HTTP/1.0\x0d\x0a"
"GET "
"HEAD "
"POST "
"Host: "
"Content-Length: "
"Transfer-Encoding: chunked"
"Connection: close"
"Expect: 100-continue"
";ext=1"
"0\x0d\x0a\x0d\x0a"
DICT

echo "fuzzing for ${seconds}s"
# Let libFuzzer report crashes itself; Swift's backtracer can hang under ASan.
export SWIFT_BACKTRACE=enable=no
"$work/fuzz-http-parser" "$work/corpus" \
    -max_total_time="$seconds" -timeout=10 -max_len=16384 -print_final_stats=1 \
    -dict="$work/http.dict" -artifact_prefix="$work/artifacts/"
