/// The reply to `show route count` or `show route count table all` (BIRD 2.0.12 `rt-show.c`).
public struct BIRDRouteCount: Sendable, Equatable {
    public var tables: [BIRDTableRouteCount]
    /// The `0014 Total:` line, printed only when more than one table was counted.
    public var total: BIRDRouteCountTotal?
    public var unrecognizedLines: Int

    public init(tables: [BIRDTableRouteCount] = [], total: BIRDRouteCountTotal? = nil, unrecognizedLines: Int = 0) {
        self.tables = tables
        self.total = total
        self.unrecognizedLines = unrecognizedLines
    }

    public subscript(table: String) -> BIRDTableRouteCount? {
        tables.first { $0.table == table }
    }
}

/// `8 of 8 routes for 6 networks in table master4`.
public struct BIRDTableRouteCount: Sendable, Hashable {
    public var table: String
    /// Routes that passed the command's filter (all of them without a filter).
    public var shownRoutes: Int
    /// All routes in the table.
    public var routes: Int
    public var networks: Int

    public init(table: String, shownRoutes: Int, routes: Int, networks: Int) {
        self.table = table
        self.shownRoutes = shownRoutes
        self.routes = routes
        self.networks = networks
    }
}

/// `Total: 26 of 26 routes for 19 networks in 6 tables`.
public struct BIRDRouteCountTotal: Sendable, Hashable {
    public var shownRoutes: Int
    public var routes: Int
    public var networks: Int
    public var tables: Int

    public init(shownRoutes: Int, routes: Int, networks: Int, tables: Int) {
        self.shownRoutes = shownRoutes
        self.routes = routes
        self.networks = networks
        self.tables = tables
    }
}

extension BIRDRouteCount {
    public static func parse(_ reply: BIRDReply) throws(BIRDParseError) -> BIRDRouteCount {
        try BIRDParseError.checkDaemonError(reply)
        var result = BIRDRouteCount()
        reply.withLines { base, lines in
            for line in lines {
                let text = ByteSlice(base: base, start: line.textStart, end: line.textEnd).trimmed()
                switch line.code {
                case 1007:
                    if text.isEmpty { continue }
                    guard let (shown, routes, networks, tail) = Self.counts(text),
                          tail.hasPrefix("in table "), !tail.dropFirst(9).trimmed().isEmpty
                    else { result.unrecognizedLines += 1; continue }
                    result.tables.append(BIRDTableRouteCount(table: tail.dropFirst(9).trimmed().string, shownRoutes: shown, routes: routes, networks: networks))
                case 14:
                    guard text.hasPrefix("Total: "), let (shown, routes, networks, tail) = Self.counts(text.dropFirst(7)),
                          tail.hasPrefix("in "), let (tables, _) = tail.dropFirst(3).nextToken(), let tableCount = tables.parseInt()
                    else { result.unrecognizedLines += 1; continue }
                    result.total = BIRDRouteCountTotal(shownRoutes: shown, routes: routes, networks: networks, tables: tableCount)
                case 0:
                    continue
                default:
                    result.unrecognizedLines += 1
                }
            }
        }
        return result
    }

    /// `A of B routes for C networks ` and what follows.
    private static func counts(_ text: ByteSlice) -> (Int, Int, Int, ByteSlice)? {
        guard let (a, r1) = text.nextToken(), let shown = a.parseInt(),
              let (of, r2) = r1.nextToken(), of.equals("of"),
              let (b, r3) = r2.nextToken(), let routes = b.parseInt(),
              let (routesWord, r4) = r3.nextToken(), routesWord.equals("routes"),
              let (forWord, r5) = r4.nextToken(), forWord.equals("for"),
              let (c, r6) = r5.nextToken(), let networks = c.parseInt(),
              let (networksWord, tail) = r6.nextToken(), networksWord.equals("networks")
        else { return nil }
        return (shown, routes, networks, tail)
    }
}
