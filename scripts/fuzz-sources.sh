# Sourced by scripts/fuzz-tinc.sh and fuzz-trust.sh: copies TincControl's sources that need no
# swift-log, Dispatch or daemon client, and POSIXSupport's (all but the thread spawner, which
# needs the CLinux C module), into "$OUT/src" as one module, without their module imports.
# Sets TINC_SOURCES to the copies.
copy_tinc_sources() {
    rm -rf "$OUT/src" && mkdir -p "$OUT/src"
    local file
    for file in $(grep -L -E 'import (Logging|Dispatch)|TincControlError|TincSyscall\.|TincDaemonClient|procOpenFiles' Sources/TincControl/*.swift) \
                $(ls Sources/POSIXSupport/*.swift | grep -v DetachedThread); do
        grep -v -E '^import (POSIXSupport|TincControl)$' "$file" > "$OUT/src/$(basename "$file")"
    done
    mapfile -t TINC_SOURCES < <(ls "$OUT"/src/*.swift)
}
