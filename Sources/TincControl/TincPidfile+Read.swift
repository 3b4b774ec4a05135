import Glibc
extension TincPidfile {
    /// True when the pidfile at `path` is tinc 1.1's (`PID COOKIE HOST port PORT`): talk to the
    /// control socket instead of signalling. False when it is 1.0's, missing or unreadable.
    public static func isTinc11(atPath path: String) -> Bool {
        (try? read(path))?.isTinc11 ?? false
    }

    /// Reads and parses a pidfile (at most 4 KiB), with errors that name the file.
    static func read(_ path: String) throws(TincControlError) -> TincPidfile {
        let content: [UInt8]
        switch TincSyscall.readFile(path, limit: 4096) {
        case .success(let bytes): content = bytes
        case .failure(.system(_, let call, let code)): throw .pidfile(path: path, call: call, errno: code)
        case .failure: throw .pidfile(path: path, call: "read", errno: EFBIG)
        }
        do {
            return try TincPidfile(parsing: String(decoding: content, as: UTF8.self))
        } catch {
            throw .malformedPidfile(path: path, error)
        }
    }
}
