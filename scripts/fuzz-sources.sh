# Sourced by scripts/fuzz-*.sh. A fuzzer is one module compiled with swiftc from copies of the
# pure source files it needs (no swift-log, Dispatch or daemon client), under "$OUT/src".

# copy_sources FILE...: copies the files into "$OUT/src" without their imports of this project's
# modules, which the copies replace.
copy_sources() {
    mkdir -p "$OUT/src"
    local file
    for file in "$@"; do
        grep -v -E '^import (POSIXSupport|TincControl|EtcdClient|HTTPServer|Exposition|BIRDControl)$' "$file" \
            > "$OUT/src/$(basename "$file")"
    done
}

# copy_tinc_sources: starts "$OUT/src" afresh with TincControl's sources that need no swift-log,
# Dispatch or daemon client, and POSIXSupport's (all but the thread spawner, which needs the
# CLinux C module).
copy_tinc_sources() {
    rm -rf "$OUT/src"
    # shellcheck disable=SC2046 # file names without blanks
    copy_sources $(grep -L -E 'import (Logging|Dispatch)|TincControlError|TincSyscall\.|TincDaemonClient|procOpenFiles' Sources/TincControl/*.swift) \
                 $(ls Sources/POSIXSupport/*.swift | grep -v DetachedThread)
}

# build_fuzzer NAME MODULE MAIN [openssl]: compiles "$OUT"/src/*.swift and MAIN into "$OUT/NAME"
# with -sanitize=fuzzer,address. With "openssl", links the COpenSSL shim (the key code calls
# libcrypto.so.3, loaded with dlopen).
build_fuzzer() {
    local name=$1 module=$2 main=$3 openssl=${4:-}
    local extra=()
    if [ "$openssl" = openssl ]; then
        "${CLANG:-$(dirname "$SWIFTC")/clang}" -O1 -g -c Sources/COpenSSL/copenssl.c -I Sources/COpenSSL/include -o "$OUT/copenssl.o"
        extra=(-I Sources/COpenSSL/include "$OUT/copenssl.o" -ldl)
    fi
    echo "$name: compiling $(ls "$OUT"/src/*.swift | wc -l) sources and $main with -sanitize=fuzzer,address"
    "$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -g -module-name "$module" \
        "${extra[@]}" -use-ld=lld "$OUT"/src/*.swift "$main" -o "$OUT/$name"
}

# seed_regressions DIR: adds the inputs of earlier findings (Fuzz/<fuzzer>/regressions) to the corpus.
seed_regressions() {
    if [ -d "$1" ]; then cp "$1"/* "$OUT/corpus/"; fi
}
