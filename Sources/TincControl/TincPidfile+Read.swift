import POSIXSupport
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
        do {
            content = try RegularFile.read(path, limit: 4096)
        } catch .system(_, let call, let code) {
            throw .pidfile(path: path, call: call, errno: code)
        } catch {
            throw .pidfileRefused(path: path, reason: error.reason)
        }
        do {
            return try TincPidfile(parsing: String(decoding: content, as: UTF8.self))
        } catch {
            throw .malformedPidfile(path: path, error)
        }
    }
}
