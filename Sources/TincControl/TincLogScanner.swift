/// The kinds of block tinc 1.0 writes into its log from a signal handler: SIGUSR2 writes device
/// statistics, nodes, edges and subnets; SIGUSR1 writes connections (1.0.36 process.c).
public enum TincLogBlockKind: String, Sendable, Hashable, CaseIterable {
    case deviceStatistics = "device"
    case nodes, edges, subnets, connections

    /// The message that ends the block (device statistics end after their two counter lines).
    var endMessage: String? {
        switch self {
        case .deviceStatistics: nil
        case .nodes: "End of nodes."
        case .edges: "End of edges."
        case .subnets: "End of subnet list."
        case .connections: "End of connections."
        }
    }

    static func header(_ message: Substring) -> TincLogBlockKind? {
        switch message {
        case "Nodes:": .nodes
        case "Edges:": .edges
        case "Subnet list:": .subnets
        case "Connections:": .connections
        default: message.hasPrefix("Statistics for ") && message.hasSuffix(":") ? .deviceStatistics : nil
        }
    }
}

/// One line of a tinc 1.0 log file: `2026-11-30 08:32:25 tinc.bgpmesh[16220]: message`
/// (logger.c, LOGMODE_FILE: strftime `%Y-%m-%d %H:%M:%S`, the ident, the pid, then the message).
public struct TincLogLine: Sendable, Hashable {
    /// tincd's local time, as printed.
    public var timestamp: Substring
    /// `tinc.<net>` (or `tinc` without a net name).
    public var ident: Substring
    public var pid: Int32
    public var message: Substring

    /// Splits one line (without its newline); nil when it does not carry tinc's prefix.
    public init?(_ line: Substring) {
        let bytes = Array(line.utf8)
        guard let parsed = bytes.withUnsafeBufferPointer({ TincLogScanner.prefix($0, 0, $0.count) }) else { return nil }
        let utf8 = line.utf8
        func at(_ offset: Int) -> Substring.Index { utf8.index(utf8.startIndex, offsetBy: offset) }
        timestamp = line[at(0)..<at(19)]
        ident = line[at(parsed.identStart)..<at(parsed.identEnd)]
        pid = parsed.pid
        message = line[at(parsed.message)...]
    }
}

/// A complete dump block found in the log: the header line, its body lines and (except for the
/// device statistics) the end line, all from one pid.
public struct TincLogBlock: Sendable, Hashable {
    public var kind: TincLogBlockKind
    public var pid: Int32
    /// Timestamp of the header line, as tincd printed it (its local time).
    public var timestamp: String
    /// The header message, e.g. `Statistics for Linux tun/tap device (tap mode) /dev/net/tun:`.
    public var header: String
    /// Body messages as printed (with their leading space), in order.
    public var lines: [String]
}

/// What a scan of (part of) a log file found.
public struct TincLogScan: Sendable {
    /// Complete blocks, in log order.
    public var blocks: [TincLogBlock] = []
    /// Blocks whose header appeared but whose end did not (cut by rotation or by the end of the
    /// data read so far, or abandoned for a new header).
    public var incomplete: [(kind: TincLogBlockKind, pid: Int32)] = []
    /// Lines without tinc's prefix, or from another pid than the one asked for.
    public var foreignLines = 0
    /// Lines of the right pid inside an open block that are not body lines (another message of
    /// the daemon's main loop); they are skipped.
    public var strayLines = 0
    /// Bytes up to and including the last newline; a trailing partial line is not consumed.
    public var consumedBytes = 0
    /// Set by the client when the one-line message it waits for (e.g. `Got HUP signal`) was seen.
    var sawMessage = false

    /// The last complete block of `kind` (from `pid`, when given).
    public func last(_ kind: TincLogBlockKind, pid: Int32? = nil) -> TincLogBlock? {
        blocks.last { $0.kind == kind && (pid == nil || $0.pid == pid) }
    }
}

/// Finds tinc 1.0 dump blocks in raw log bytes. Pure: no I/O, bounded by the input.
///
/// The log may hold other daemons' lines (another process writing the same file, or an older
/// tincd's pid), a line cut at the end, and lines that are not UTF-8; none of that throws.
public enum TincLogScanner {
    /// Scans `bytes`. With `pid`, lines of other pids count as foreign and never enter a block.
    public static func scan(_ bytes: [UInt8], pid: Int32? = nil) -> TincLogScan {
        var scan = TincLogScan()
        // One open block per pid: two daemons writing into one file do not break each other's blocks.
        var open: [Int32: TincLogBlock] = [:]
        bytes.withUnsafeBufferPointer { buffer in
            var lineStart = 0
            var index = 0
            let count = buffer.count
            while index < count {
                guard buffer[index] == 0x0A else { index += 1; continue }
                var lineEnd = index
                if lineEnd > lineStart, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                feed(buffer, lineStart, lineEnd, pid: pid, open: &open, scan: &scan)
                index += 1
                lineStart = index
                scan.consumedBytes = index
            }
        }
        for (blockPid, block) in open.sorted(by: { $0.key < $1.key }) {
            scan.incomplete.append((block.kind, blockPid))
        }
        return scan
    }

    /// The byte-level form of `TincLogLine`: (end of timestamp, pid, start of message).
    static func prefix(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (identStart: Int, identEnd: Int, pid: Int32, message: Int)? {
        guard end - start >= 26 else { return nil }
        for position in 0..<20 {
            let byte = b[start + position]
            let ok: Bool = switch position {
            case 4, 7: byte == 0x2D
            case 10, 19: byte == 0x20
            case 13, 16: byte == 0x3A
            default: byte >= 0x30 && byte <= 0x39
            }
            guard ok else { return nil }
        }
        // The ident runs to the last '[' before the first "]: ".
        var close = start + 20
        var found = false
        while close + 2 < end {
            if b[close] == 0x5D && b[close + 1] == 0x3A && b[close + 2] == 0x20 { found = true; break }
            close += 1
        }
        guard found else { return nil }
        var open = close - 1
        while open > start + 20, b[open] != 0x5B { open -= 1 }
        guard open > start + 20, b[open] == 0x5B else { return nil }
        let digits = close - open - 1
        guard digits >= 1, digits <= 10 else { return nil }
        var pid: Int64 = 0
        for i in (open + 1)..<close {
            let byte = b[i]
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            pid = pid * 10 + Int64(byte - 0x30)
        }
        guard pid > 0, pid <= Int64(Int32.max) else { return nil }
        for i in (start + 20)..<open where b[i] == 0x20 { return nil }
        return (start + 20, open, Int32(pid), close + 3)
    }

    private static func equals(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard end - start == n else { return false }
        let p = literal.utf8Start
        for i in 0..<n where b[start + i] != p[i] { return false }
        return true
    }

    private static func hasPrefix(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard end - start >= n else { return false }
        let p = literal.utf8Start
        for i in 0..<n where b[start + i] != p[i] { return false }
        return true
    }

    private static func header(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> TincLogBlockKind? {
        if equals(b, start, end, "Nodes:") { return .nodes }
        if equals(b, start, end, "Edges:") { return .edges }
        if equals(b, start, end, "Subnet list:") { return .subnets }
        if equals(b, start, end, "Connections:") { return .connections }
        if hasPrefix(b, start, end, "Statistics for "), b[end - 1] == 0x3A { return .deviceStatistics }
        return nil
    }

    private static func isEnd(_ kind: TincLogBlockKind, _ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        switch kind {
        case .deviceStatistics: false
        case .nodes: equals(b, start, end, "End of nodes.")
        case .edges: equals(b, start, end, "End of edges.")
        case .subnets: equals(b, start, end, "End of subnet list.")
        case .connections: equals(b, start, end, "End of connections.")
        }
    }

    private static func text(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
    }

    private static func feed(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, pid wanted: Int32?,
                             open: inout [Int32: TincLogBlock], scan: inout TincLogScan) {
        guard var parsed = prefix(b, start, end) else { scan.foreignLines += 1; return }
        if let wanted, parsed.pid != wanted { scan.foreignLines += 1; return }
        let timestampStart = start
        // A signal that lands between logger()'s prefix and message writes a second prefix into
        // the same line (1.0.36 logger.c uses two fprintf calls); take the innermost message.
        var unwrap = 0
        while unwrap < 4, let inner = prefix(b, parsed.message, end), inner.pid == parsed.pid {
            parsed = inner
            unwrap += 1
        }
        let pid = parsed.pid
        let message = parsed.message
        if let kind = header(b, message, end) {
            if let previous = open[pid] { scan.incomplete.append((previous.kind, pid)) }
            open[pid] = TincLogBlock(kind: kind, pid: pid, timestamp: text(b, timestampStart, timestampStart + 19),
                                     header: text(b, message, end), lines: [])
            return
        }
        // Mutated in place through the dictionary: copying the block out and back would copy
        // its line array on every line (quadratic on a 4000-edge dump).
        guard let kind = open[pid]?.kind else { return }
        if isEnd(kind, b, message, end) {
            if let block = open.removeValue(forKey: pid) { scan.blocks.append(block) }
            return
        }
        guard message < end, b[message] == 0x20 else { scan.strayLines += 1; return }
        open[pid]!.lines.append(text(b, message, end))
        if kind == .deviceStatistics, hasPrefix(b, message, end, " total bytes out:"), let block = open.removeValue(forKey: pid) {
            scan.blocks.append(block)
        }
    }
}
