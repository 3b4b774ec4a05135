#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Pure parsers for the few /proc files the process collector reads.
public enum ProcFS {
    /// The fields of `/proc/<pid>/stat` that process metrics need (proc(5)).
    public struct Stat: Sendable, Equatable {
        public var utimeTicks: UInt64
        public var stimeTicks: UInt64
        public var startTimeTicks: UInt64
        public var virtualMemoryBytes: UInt64
        public var residentPages: UInt64
    }

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case malformed(file: String, reason: String)
        public var description: String {
            switch self {
            case let .malformed(file, reason): return "cannot parse \(file): \(reason)"
            }
        }
    }

    /// `/proc/<pid>/stat`. The command name (field 2) may hold spaces and
    /// parentheses, so the fields are counted from the last `)`.
    public static func parseStat(_ text: String) throws(ParseError) -> Stat {
        guard let close = text.lastIndex(of: ")") else { throw .malformed(file: "stat", reason: "no ')' after the command name") }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // After the name, field 3 (state) is index 0; utime is field 14, rss field 24.
        func field(_ n: Int) throws(ParseError) -> UInt64 {
            let i = n - 3
            guard i < fields.count, let v = UInt64(fields[i].trimmingNewlines()) else {
                throw .malformed(file: "stat", reason: "field \(n) missing or not a number")
            }
            return v
        }
        return Stat(utimeTicks: try field(14), stimeTicks: try field(15), startTimeTicks: try field(22),
                    virtualMemoryBytes: try field(23), residentPages: try field(24))
    }

    /// The soft limit of "Max open files" in `/proc/<pid>/limits`; nil for "unlimited".
    public static func parseMaxOpenFiles(_ text: String) throws(ParseError) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("Max open files") {
            let words = line.dropFirst("Max open files".count).split(separator: " ")
            guard let soft = words.first else { break }
            if soft == "unlimited" { return nil }
            guard let v = UInt64(soft) else { break }
            return v
        }
        throw .malformed(file: "limits", reason: "no \"Max open files\" line")
    }

    /// `btime` from `/proc/stat`: the boot time in seconds since the epoch.
    public static func parseBootTime(_ text: String) throws(ParseError) -> UInt64 {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            if let v = UInt64(line.dropFirst(6).trimmingSpaces()) { return v }
        }
        throw .malformed(file: "/proc/stat", reason: "no btime line")
    }
}
