import Glibc

/// strerror for error descriptions; pure (no state), so the parsers can use it too.
enum TincErrno {
    static func text(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
