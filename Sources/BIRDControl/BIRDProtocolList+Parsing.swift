#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension BIRDProtocolList {
    /// Parses the reply to `show protocols` or `show protocols all [name|"pattern"]`.
    ///
    /// Rows are `1002` lines and details `1006` lines (BIRD 2.0.12 `proto_cmd_show`). Columns
    /// are split by shape, not position: names longer than the 10-character column push the
    /// rest of the row right, and the Since column may contain spaces (`iso long`).
    public static func parse(_ reply: BIRDReply, time: BIRDTimeContext = BIRDTimeContext()) throws(BIRDParseError) -> BIRDProtocolList {
        try BIRDParseError.checkDaemonError(reply)
        let parsed: BIRDProtocolList? = reply.withLines { base, lines in
            var parser = ProtocolListParser(time: time)
            for line in lines {
                parser.feed(code: line.code, text: ByteSlice(base: base, start: line.textStart, end: line.textEnd))
            }
            return parser.finish()
        }
        guard let parsed else {
            throw .unexpectedReply(expected: "2002 protocol table header", code: reply.code, text: reply.finalText)
        }
        return parsed
    }
}

/// The state machine behind `BIRDProtocolList.parse`.
struct ProtocolListParser {
    private var time: BIRDTimeParser
    private var protocols: [BIRDProtocol] = []
    // The protocol being assembled, and its parts. Plain values with flags rather than optionals
    // of large structs: mutating through `optional?.field` copied whole protocols per line.
    private var current = BIRDProtocol(name: "", proto: "", table: nil, state: .down, since: nil, sinceText: "", info: "")
    private var hasCurrent = false
    private var isBGP = false
    private var isRPKI = false
    private var bgp = BIRDBGPInfo(state: .other(""))
    private var hasBGP = false
    private var rpki = BIRDRPKIInfo()
    private var hasRPKI = false
    private var channel = BIRDChannel(name: "")
    private var inChannel = false
    private var pendingLimit: LimitKind?
    private var capabilities: CapabilityTarget?
    private var capabilityList: [BIRDBGPCapability] = []
    private var unrecognized = 0
    private var sawHeader = false
    private var sawOtherCodes = false

    private enum LimitKind { case receive, `import`, export }
    private enum CapabilityTarget { case local, neighbor }

    init(time: BIRDTimeContext) {
        self.time = BIRDTimeParser(context: time)
    }

    mutating func feed(code: Int, text: ByteSlice) {
        switch code {
        case 2002:
            sawHeader = true
        case 1002:
            finishProtocol()
            if parseRow(text) { hasCurrent = true } else { unrecognized += 1 }
        case 1006:
            if hasCurrent { detail(text) } else { unrecognized += 1 }
        case 0:
            break
        default:
            sawOtherCodes = true
            unrecognized += 1
        }
    }

    mutating func finish() -> BIRDProtocolList? {
        finishProtocol()
        // A reply without header or rows but with foreign lines is not a protocol list at all.
        if !sawHeader && protocols.isEmpty && sawOtherCodes { return nil }
        return BIRDProtocolList(protocols: protocols, unrecognizedLines: unrecognized)
    }

    // MARK: Rows

    /// Parses a row into `current` (and `bgp` for BGP); false if the row has too few columns.
    private mutating func parseRow(_ text: ByteSlice) -> Bool {
        guard let (name, afterName) = text.nextToken(),
              let (proto, afterProto) = afterName.nextToken(),
              let (table, afterTable) = afterProto.nextToken(),
              let (state, rest) = afterTable.nextToken()
        else { return false }

        // "%-12s  %s": Since is padded to 12 and followed by two spaces, so Info starts after the
        // first double space at or beyond column 12 of the Since field.
        var sinceEnd = rest.end, infoStart = rest.end
        var index = rest.start + 12
        while index < rest.end {
            if rest.base[index] == .space && (index + 1 == rest.end || rest.base[index + 1] == .space) {
                sinceEnd = index
                infoStart = min(index + 2, rest.end)
                break
            }
            index += 1
        }
        let since = ByteSlice(base: rest.base, start: rest.start, end: sinceEnd).trimmed()
        let info = ByteSlice(base: rest.base, start: infoStart, end: rest.end).trimmed()

        current = BIRDProtocol(
            name: name.string,
            proto: proto.string,
            table: table.equals("---") ? nil : table.string,
            state: BIRDProtocolState(text: state.string),
            since: time.parse(since),
            sinceText: since.string,
            info: info.string)
        isBGP = current.kind == .bgp
        isRPKI = current.kind == .rpki
        if isBGP {
            // bgp_get_status: "%-14s%s%s" (state, error class, message), or only the error when down.
            hasBGP = true
            if current.state == .down {
                bgp = BIRDBGPInfo(state: .down)
                bgp.lastError = info.isEmpty ? nil : info.string
            } else if let (bgpState, error) = info.nextToken() {
                bgp = BIRDBGPInfo(state: BIRDBGPState(text: bgpState.string))
                bgp.lastError = error.isEmpty ? nil : error.string
            } else {
                bgp = BIRDBGPInfo(state: .other(""))
            }
        }
        return true
    }

    private mutating func finishProtocol() {
        finishChannel()
        finishCapabilities()
        if hasCurrent {
            if hasBGP { current.bgp = bgp }
            if hasRPKI { current.rpki = rpki }
            protocols.append(current)
        }
        // Never let one protocol's parts leak into the next.
        if hasBGP { bgp = BIRDBGPInfo(state: .other("")) }
        if hasRPKI { rpki = BIRDRPKIInfo() }
        hasCurrent = false
        hasBGP = false
        hasRPKI = false
        isBGP = false
        isRPKI = false
    }

    private mutating func finishChannel() {
        if inChannel { current.channels.append(channel) }
        inChannel = false
        pendingLimit = nil
    }

    private mutating func finishCapabilities() {
        guard let target = capabilities else { return }
        hasBGP = true
        switch target {
        case .local: bgp.localCapabilities = capabilityList
        case .neighbor: bgp.neighborCapabilities = capabilityList
        }
        capabilities = nil
        capabilityList = []
    }

    // MARK: Details

    private mutating func detail(_ text: ByteSlice) {
        current.hasDetails = true
        let indentation = text.indentation
        let body = text.trimmed()
        if body.isEmpty {
            // The blank line that closes a protocol's details.
            finishChannel()
            finishCapabilities()
            return
        }
        if capabilities != nil {
            if indentation >= 6 {
                capability(body, indentation: indentation)
                return
            }
            finishCapabilities()
        }
        if body.hasPrefix("Channel ") {
            finishChannel()
            channel = BIRDChannel(name: body.dropFirst(8).trimmed().string)
            inChannel = true
            return
        }
        if body.hasPrefix("No ") && body.hasSuffix(" channel") {
            // RPKI: "No roa6 channel".
            finishChannel()
            return
        }
        guard let (rawKey, rawValue) = body.split(at: .colon) else {
            flag(body)
            return
        }
        let key = rawKey.trimmed(), value = rawValue.trimmed()
        if inChannel {
            channelField(key: key, value: value)
        } else {
            protocolField(key: key, value: value)
        }
    }

    /// Detail lines without a colon.
    private mutating func flag(_ body: ByteSlice) {
        guard !inChannel else { unrecognized += 1; return }
        if body.equals("Local capabilities") {
            capabilities = .local
        } else if body.equals("Neighbor capabilities") {
            capabilities = .neighbor
        } else if body.equals("Neighbor graceful restart active") {
            hasBGP = true
            bgp.neighborGracefulRestartActive = true
        } else {
            unrecognized += 1
        }
    }

    private mutating func capability(_ body: ByteSlice, indentation: Int) {
        let pair = body.split(at: .colon)
        if indentation == 6 || capabilityList.isEmpty {
            if let (name, value) = pair {
                capabilityList.append(BIRDBGPCapability(name: name.trimmed().string, value: value.trimmed().string))
            } else {
                capabilityList.append(BIRDBGPCapability(name: body.string))
            }
        } else if let (key, value) = pair {
            capabilityList[capabilityList.count - 1].attributes[key.trimmed().string] = value.trimmed().string
        } else {
            capabilityList[capabilityList.count - 1].flags.append(body.string)
        }
    }

    private mutating func protocolField(key: ByteSlice, value: ByteSlice) {
        if isBGP, bgpField(key: key, value: value) { return }
        if isRPKI, rpkiField(key: key, value: value) { return }
        if key.equals("Description") {
            current.description = value.string
        } else if key.equals("Message") {
            current.message = value.string
        } else if key.equals("Router ID") {
            current.routerID = value.string
        } else if key.equals("VRF") {
            current.vrf = value.string
        } else if let timer = BIRDTimer(value) {
            current.timers[key.string] = timer
        } else {
            current.otherFields[key.string] = value.string
        }
    }

    /// Returns false when `key` is not a BGP field.
    private mutating func bgpField(key: ByteSlice, value: ByteSlice) -> Bool {
        hasBGP = true
        switch key.count {
        case 9 where key.equals("BGP state"):
            bgp.state = BIRDBGPState(text: value.string)
        case 16 where key.equals("Neighbor address"):
            if let (address, interface) = value.split(at: UInt8(ascii: "%")) {
                bgp.neighborAddress = address.string
                bgp.neighborInterface = interface.string
            } else {
                bgp.neighborAddress = value.string
            }
        case 14 where key.equals("Neighbor range"):
            bgp.neighborRange = value.string
        case 13 where key.equals("Neighbor port"):
            bgp.neighborPort = value.parseInt()
        case 11 where key.equals("Neighbor AS"):
            bgp.neighborAS = value.parseUInt64().flatMap(UInt32.init(exactly:))
        case 8 where key.equals("Local AS"):
            bgp.localAS = value.parseUInt64().flatMap(UInt32.init(exactly:))
        case 11 where key.equals("Neighbor ID"):
            bgp.neighborID = value.string
        case 7 where key.equals("Session"):
            bgp.session = BIRDBGPSession(text: value.string)
        case 14 where key.equals("Source address"):
            bgp.sourceAddress = value.string
        case 10 where key.equals("Last error"):
            bgp.lastError = value.isEmpty ? nil : value.string
        case 10 where key.equals("Hold timer"):
            let timer = timer(key, value)
            bgp.holdTimer = timer
        case 15 where key.equals("Keepalive timer"):
            let timer = timer(key, value)
            bgp.keepaliveTimer = timer
        case 10 where key.equals("Error wait"):
            let timer = timer(key, value)
            bgp.errorWait = timer
        case 13 where key.equals("Connect delay"):
            let timer = timer(key, value)
            bgp.connectDelay = timer
        case 13 where key.equals("Restart timer"):
            let timer = timer(key, value)
            bgp.restartTimer = timer
        default:
            return false
        }
        return true
    }

    /// Returns false when `key` is not an RPKI field.
    private mutating func rpkiField(key: ByteSlice, value: ByteSlice) -> Bool {
        hasRPKI = true
        let dashes = value.equals("---")
        if key.equals("Cache server") {
            rpki.cacheServer = value.string
        } else if key.equals("Cache port") {
            rpki.cachePort = value.parseInt()
        } else if key.equals("Status") {
            rpki.status = value.string
        } else if key.equals("Transport") {
            rpki.transport = value.string
        } else if key.equals("Protocol version") {
            rpki.protocolVersion = value.parseInt()
        } else if key.equals("Session ID") {
            rpki.sessionID = dashes ? nil : value.parseUInt64().flatMap(UInt32.init(exactly:))
        } else if key.equals("Serial number") {
            rpki.serialNumber = dashes ? nil : value.parseUInt64().flatMap(UInt32.init(exactly:))
        } else if key.equals("Last update") {
            // "before 12.345 s"
            var age = value
            if age.hasPrefix("before ") { age = age.dropFirst(7) }
            if age.hasSuffix(" s") { age = ByteSlice(base: age.base, start: age.start, end: age.end - 2) }
            rpki.lastUpdateAge = dashes ? nil : age.trimmed().parseDecimal()
        } else if key.equals("Refresh timer") {
            let timer = timer(key, value)
            rpki.refreshTimer = timer
        } else if key.equals("Retry timer") {
            let timer = timer(key, value)
            rpki.retryTimer = timer
        } else if key.equals("Expire timer") {
            let timer = timer(key, value)
            rpki.expireTimer = timer
        } else {
            return false
        }
        return true
    }

    /// Parses a `remaining/configured` value and records it under its label as well.
    private mutating func timer(_ key: ByteSlice, _ value: ByteSlice) -> BIRDTimer? {
        guard let timer = BIRDTimer(value) else { return nil }
        current.timers[key.string] = timer
        return timer
    }

    // MARK: Channels

    private mutating func channelField(key: ByteSlice, value: ByteSlice) {
        switch key.count {
        case 5 where key.equals("State"):
            channel.state = BIRDChannelState(text: value.string)
        case 5 where key.equals("Table"):
            channel.table = value.string
        case 10 where key.equals("Preference"):
            channel.preference = value.parseInt()
        case 12 where key.equals("Input filter"), 13 where key.equals("Import filter"):
            channel.inputFilter = value.string
        case 13 where key.equals("Output filter"), 13 where key.equals("Export filter"):
            channel.outputFilter = value.string
        case 6 where key.equals("Routes"):
            channel.routes = Self.routeCounters(value)
        case 18 where key.equals("Route change stats"):
            if channel.stats == nil { channel.stats = BIRDRouteChangeStats() }
        case 14 where key.equals("Import updates"):
            let stats = stats(with: value) { $0.importUpdates = $1 }
            channel.stats = stats
        case 16 where key.equals("Import withdraws"):
            let stats = stats(with: value) { $0.importWithdraws = $1 }
            channel.stats = stats
        case 14 where key.equals("Export updates"):
            let stats = stats(with: value) { $0.exportUpdates = $1 }
            channel.stats = stats
        case 16 where key.equals("Export withdraws"):
            let stats = stats(with: value) { $0.exportWithdraws = $1 }
            channel.stats = stats
        case 13 where key.equals("Receive limit"):
            channel.receiveLimit = Self.limit(value)
            pendingLimit = .receive
        case 12 where key.equals("Import limit"):
            channel.importLimit = Self.limit(value)
            pendingLimit = .import
        case 12 where key.equals("Export limit"):
            channel.exportLimit = Self.limit(value)
            pendingLimit = .export
        case 6 where key.equals("Action"):
            let action = BIRDLimitAction(text: value.string)
            switch pendingLimit {
            case .receive: channel.receiveLimit?.action = action
            case .import: channel.importLimit?.action = action
            case .export: channel.exportLimit?.action = action
            case nil: channel.otherFields["Action"] = value.string
            }
        case 12 where key.equals("BGP Next hop"):
            var hops: [String] = []
            var rest = value
            while let (token, next) = rest.nextToken() {
                hops.append(token.string)
                rest = next
            }
            channel.bgpNextHop = hops
        case 14 where key.equals("IGP IPv4 table"):
            channel.igpTableIPv4 = value.string
        case 14 where key.equals("IGP IPv6 table"):
            channel.igpTableIPv6 = value.string
        case 10 where key.equals("Base table"):
            channel.baseTable = value.string
        case 10 where key.equals("Peer table"):
            channel.peerTable = value.string
        case 12 where key.equals("Import state"):
            channel.importState = value.string
        case 12 where key.equals("Export state"):
            channel.exportState = value.string
        case 11 where key.equals("Neighbor GR"):
            channel.neighborGracefulRestart = value.string
        case 14 where key.equals("LL stale timer"):
            channel.llStaleTimer = BIRDTimer(value)
        case 11 where key.equals("GR recovery"):
            channel.gracefulRestartRecovery = value.string
        default:
            channel.otherFields[key.string] = value.string
        }
    }

    private func stats(with value: ByteSlice, _ update: (inout BIRDRouteChangeStats, BIRDRouteChangeRow) -> Void) -> BIRDRouteChangeStats {
        var stats = channel.stats ?? BIRDRouteChangeStats()
        update(&stats, Self.statsRow(value))
        return stats
    }

    /// `1          0        ---          0          0`: five columns, `---` is nil.
    static func statsRow(_ value: ByteSlice) -> BIRDRouteChangeRow {
        var columns: [Int?] = [nil, nil, nil, nil, nil]
        var rest = value
        var index = 0
        while index < 5, let (token, next) = rest.nextToken() {
            columns[index] = token.parseInt()
            index += 1
            rest = next
        }
        return BIRDRouteChangeRow(received: columns[0], rejected: columns[1], filtered: columns[2], ignored: columns[3], accepted: columns[4])
    }

    /// `4 imported, 0 filtered, 3 exported, 3 preferred` (filtered and preferred optional).
    static func routeCounters(_ value: ByteSlice) -> BIRDRouteCounters? {
        var imported: Int?, filtered: Int?, exported: Int?, preferred: Int?
        var rest = value
        while !rest.isEmpty {
            let part: ByteSlice
            if let (head, tail) = rest.split(at: UInt8(ascii: ",")) {
                part = head
                rest = tail
            } else {
                part = rest
                rest = ByteSlice(base: rest.base, start: rest.end, end: rest.end)
            }
            guard let (number, word) = part.nextToken(), let count = number.parseInt() else { continue }
            let label = word.trimmed()
            if label.equals("imported") { imported = count }
            else if label.equals("filtered") { filtered = count }
            else if label.equals("exported") { exported = count }
            else if label.equals("preferred") { preferred = count }
        }
        guard let imported, let exported else { return nil }
        return BIRDRouteCounters(imported: imported, filtered: filtered, exported: exported, preferred: preferred)
    }

    /// `1000` or `1000 [HIT]`.
    static func limit(_ value: ByteSlice) -> BIRDChannelLimit? {
        guard let (number, rest) = value.nextToken(), let limit = number.parseInt() else { return nil }
        return BIRDChannelLimit(limit: limit, hit: rest.trimmed().equals("[HIT]"), action: nil)
    }
}
