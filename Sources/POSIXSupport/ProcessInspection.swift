import Glibc

/// Reads what /proc says about a process: its executable, command line, state and group. Every
/// read is bounded, and an unreadable entry (the process is gone, or another user's) is nil.
public enum ProcessInspection {
    /// readlink(2) of a /proc link (`/proc/PID/exe`, `/proc/PID/cwd`).
    public static func link(_ path: String) -> String? {
        var target = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &target, target.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The base name of /proc/PID/exe, without the ` (deleted)` Linux appends once the binary
    /// was replaced (a package upgrade under a running daemon).
    public static func executableName(_ pid: Int32) -> String? {
        link("/proc/\(pid)/exe").map(baseName(ofExecutable:))
    }

    public static func baseName(ofExecutable path: String) -> String {
        var path = path
        if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    /// /proc/PID/cmdline split at its NULs (nil: gone, or a kernel thread's empty line).
    public static func commandLine(_ pid: Int32) -> [String]? {
        guard let bytes = try? RegularFile.read("/proc/\(pid)/cmdline", limit: 1 << 16), !bytes.isEmpty else { return nil }
        var parts = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if bytes.last == 0 { parts.removeLast() }
        return parts
    }

    /// /proc/PID/comm: the first 15 bytes of the executed file's name (a script's own name).
    public static func commandName(_ pid: Int32) -> String? {
        guard let bytes = try? RegularFile.read("/proc/\(pid)/comm", limit: 4096) else { return nil }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    }

    /// The fields of /proc/PID/stat after the command name: state, ppid, pgrp, …
    static func statFields(_ pid: Int32) -> [Substring]? {
        guard let bytes = try? RegularFile.read("/proc/\(pid)/stat", limit: 4096) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        // The command name may hold spaces and parentheses: the state follows the last `)`.
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    /// The state letter: `R`, `S`, `D`, `T` (stopped), `t`, `Z` (zombie), …
    public static func state(_ pid: Int32) -> Character? {
        statFields(pid)?.first?.first
    }

    /// The process group id.
    public static func processGroup(_ pid: Int32) -> Int32? {
        statFields(pid).flatMap { $0.count > 2 ? Int32($0[2]) : nil }
    }

    /// The pid exists and is not a zombie (a dead daemon that is not our child stays a zombie
    /// until its parent reaps it).
    public static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        return state(pid) != "Z"
    }

    /// Every pid in /proc.
    public static func allPids() -> [Int32] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var out: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let pid = Int32(name), pid > 0 { out.append(pid) }
        }
        return out
    }

    /// realpath(3), nil when the path does not resolve.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
