import Foundation

/// One node line of a tinc 1.0 SIGUSR2 dump.
public struct TincDumpNode: Sendable, Equatable {
    public var name: String
    public var address: String
    public var status: UInt32
    /// tinc 1.0.36 `node_status_t`: bit 4 is `reachable`.
    public var reachable: Bool { status & 0x10 != 0 }
}

/// One line of a tinc 1.0 SIGUSR1 connections dump.
public struct TincDumpConnection: Sendable, Equatable {
    public var name: String
    public var address: String
    public var port: String
}

/// Parsers for the tinc 1.0 log dumps the lab reads (SIGUSR1 connections, SIGUSR2 nodes).
public enum TincDump {
    /// Strips the `2026-11-30 08:01:32 tinc.bgpmesh[5783]: ` prefix tinc 1.0 writes with --logfile.
    static func message(_ line: Substring) -> Substring {
        if let r = line.range(of: "]: ") { return line[r.upperBound...] }
        return line
    }

    /// Lines between the last `start` marker and its `end` marker, or nil if no complete block.
    static func lastBlock(_ log: String, start: String, end: String) -> [Substring]? {
        let lines = log.split(separator: "\n", omittingEmptySubsequences: false).map(message)
        guard let s = lines.lastIndex(where: { $0 == start }) else { return nil }
        guard let e = lines[s...].firstIndex(where: { $0 == end }) else { return nil }
        return Array(lines[(s + 1)..<e])
    }

    /// Nodes of the last complete `Nodes:` block.
    public static func nodes(_ log: String) -> [TincDumpNode]? {
        guard let block = lastBlock(log, start: "Nodes:", end: "End of nodes.") else { return nil }
        return block.compactMap { line in
            let t = line.split(separator: " ")
            guard t.count >= 3, t[1] == "at", let si = t.firstIndex(of: "status"), si + 1 < t.count,
                  let status = UInt32(t[si + 1], radix: 16) else { return nil }
            return TincDumpNode(name: String(t[0]), address: String(t[2]), status: status)
        }
    }

    /// Connections of the last complete `Connections:` block.
    public static func connections(_ log: String) -> [TincDumpConnection]? {
        guard let block = lastBlock(log, start: "Connections:", end: "End of connections.") else { return nil }
        return block.compactMap { line in
            let t = line.split(separator: " ")
            guard t.count >= 5, t[1] == "at", t[3] == "port" else { return nil }
            return TincDumpConnection(name: String(t[0]), address: String(t[2]), port: String(t[4]))
        }
    }
}

/// One row of BIRD 2 `show protocols`.
public struct BirdProtocol: Sendable, Equatable {
    public var name: String
    public var proto: String
    public var state: String
    public var info: String
    public var established: Bool { proto == "BGP" && state == "up" && info.hasPrefix("Established") }
}

/// One route of BIRD 2 `show route`: prefix and the protocol it came from.
public struct BirdRoute: Sendable, Equatable, Hashable {
    public var table: String
    public var prefix: String
    public var proto: String
}

/// Parsers for the birdc replies the lab reads. The agent's BIRD collector has its own, complete ones.
public enum BirdReplies {
    /// Rows of `birdc show protocols` (the `BIRD 2.0.12 ready.` banner and the header are skipped).
    public static func protocols(_ text: String) -> [BirdProtocol] {
        var out: [BirdProtocol] = []
        for line in text.split(separator: "\n") {
            let t = line.split(separator: " ", omittingEmptySubsequences: true)
            guard t.count >= 4, !(t[0] == "Name" && t[1] == "Proto"), !line.hasPrefix("BIRD ") else { continue }
            // Since is one token with the default `timeformat protocol`; two with the `iso long` formats.
            var infoStart = 5
            if t.count > 5, t[4].contains("-"), t[5].contains(":") { infoStart = 6 }
            let info = t.count > infoStart ? t[infoStart...].joined(separator: " ") : ""
            out.append(BirdProtocol(name: String(t[0]), proto: String(t[1]), state: String(t[3]), info: info))
        }
        return out
    }

    /// Routes of `birdc show route`, across the `Table <name>:` sections.
    public static func routes(_ text: String) -> [BirdRoute] {
        var out: [BirdRoute] = []
        var table = ""
        var prefix = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Table ") {
                table = String(line.dropFirst(6).trimmingCharacters(in: CharacterSet(charactersIn: ": ")))
                continue
            }
            if line.hasPrefix("BIRD ") { continue }
            let startsWithSpace = line.first == " " || line.first == "\t"
            let t = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard !t.isEmpty else { continue }
            if !startsWithSpace { prefix = String(t[0]) }
            // `via ...` and `dev ...` lines carry no protocol.
            guard let open = line.firstIndex(of: "[") else { continue }
            let after = line[line.index(after: open)...]
            let proto = after.split(whereSeparator: { $0 == " " || $0 == "]" }).first.map(String.init) ?? ""
            if !proto.isEmpty && !prefix.isEmpty { out.append(BirdRoute(table: table, prefix: prefix, proto: proto)) }
        }
        return out
    }
}
