/// `bgpmesh-agent status`: the local agent's view of the mesh as a terminal table, one row
/// per peer (tinc, BGP state and uptime, RTT, loss, last repair). Pure: the caller fetches.
public enum StatusTable {
    /// ANSI colours, used only when standard output is a terminal.
    enum Colour: String {
        case green = "32", yellow = "33", red = "31", bold = "1"
    }

    public static let headers = ["PEER", "TINC", "BGP", "UPTIME", "RTT", "LOSS", "LAST REPAIR"]

    /// The table and a header line (node, health, problems). `now`: Unix seconds, for uptimes and ages.
    public static func render(status: StatusDigest, mesh: MeshDocument?, now: Double, colour: Bool) -> String {
        func paint(_ text: String, _ c: Colour?) -> String {
            guard colour, let c, !text.isEmpty else { return text }
            return "\u{1B}[\(c.rawValue)m\(text)\u{1B}[0m"
        }
        let established = Dictionary((mesh?.sessions ?? []).map { ($0.name, $0.establishedAt) }, uniquingKeysWith: { a, _ in a })
        var rows: [[(text: String, colour: Colour?)]] = []
        let peers = (status.peers ?? []).sorted { MeshMapPage.naturalKey($0.name).lexicographicallyPrecedes(MeshMapPage.naturalKey($1.name)) }
        for peer in peers {
            let sessions = (status.sessions ?? []).filter { $0.peer == peer.name }
            let session = sessions.first { $0.established != true } ?? sessions.first
            var uptime = ""
            if let session {
                if session.established == true, let at = established[session.name] ?? nil {
                    uptime = duration(now - at)
                } else if let down = session.down_seconds {
                    uptime = "down " + duration(down)
                }
            }
            let tinc = peer.tinc
            var repair = "-"
            if let last = status.lastRepair(for: peer.name) {
                repair = "\(last.action ?? "?") \(last.result ?? "?")" + (last.time.map { ", \(duration(now - $0)) ago" } ?? "")
            }
            rows.append([
                (peer.name + (peer.alive == false ? " (not alive)" : ""), peer.alive == false ? .red : nil),
                (tinc, tinc == "direct" ? .green : tinc == "relayed" ? .yellow : tinc == "down" ? .red : nil),
                (session?.state ?? "-", session == nil ? nil : session?.established == true ? .green : .red),
                (uptime.isEmpty ? "-" : uptime, nil),
                (peer.probe_rtt_seconds.map { MeshMapPage.fixed($0 * 1000, 1) + " ms" } ?? "-", nil),
                (peer.probe_loss_ratio.flatMap { MeshMapPage.whole(($0 * 100).rounded()) }.map { "\($0)%" } ?? "-",
                 peer.probe_loss_ratio.map { $0 > 0 ? .red : nil } ?? nil),
                (repair, nil),
            ])
        }
        var widths = headers.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.text.count) } }
        func line(_ cells: [(text: String, colour: Colour?)]) -> String {
            cells.enumerated().map { i, cell in
                let pad = i == cells.count - 1 ? "" : String(repeating: " ", count: widths[i] - cell.text.count + 2)
                return paint(cell.text, cell.colour) + pad
            }.joined()
        }
        let score = status.health?.score
        var out = paint(status.node ?? "?", .bold) + "  health " + paint(score.map { MeshMapPage.fixed($0, 2) } ?? "?",
                                                                          score.map { $0 >= 0.999 ? .green : $0 >= 0.5 ? .yellow : .red } ?? nil)
        if let mode = status.repair_mode { out += "  repair \(mode)" }
        out += "\n"
        for problem in status.health?.problems ?? [] { out += "  " + paint("problem", .red) + ": " + (problem.reason ?? problem.kind ?? "?") + "\n" }
        out += "\n" + line(headers.map { ($0, nil) }) + "\n"
        for row in rows { out += line(row) + "\n" }
        if rows.isEmpty { out += "(no peers in the registry)\n" }
        return out
    }

    /// `45s`, `12m03s`, `3h07m`, `2d04h`.
    public static func duration(_ seconds: Double) -> String {
        // Clamped before the conversion: a status document is input (a huge value must not trap).
        let s = seconds.isFinite ? Int(min(max(seconds, 0), 1e15)) : 0
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + NumberText.padded(s % 60, width: 2) + "s" }
        if s < 86400 { return "\(s / 3600)h" + NumberText.padded(s % 3600 / 60, width: 2) + "m" }
        return "\(s / 86400)d" + NumberText.padded(s % 86400 / 3600, width: 2) + "h"
    }

    /// The URL of an agent listening on `address` (`:10179`, `0.0.0.0:10179`, `[::]:10179`,
    /// `192.0.2.1:10179`): a wildcard host becomes the loopback address.
    public static func url(listenAddress address: String) -> String? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        switch host {
        case "", "0.0.0.0": host = "127.0.0.1"
        case "::": host = "::1"
        default: break
        }
        return host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }
}
