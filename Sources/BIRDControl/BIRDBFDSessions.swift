#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The reply to `show bfd sessions`: one block per BFD protocol.
public struct BIRDBFDSessions: Sendable, Equatable {
    public var protocols: [BIRDBFDProtocol]
    public var unrecognizedLines: Int

    public init(protocols: [BIRDBFDProtocol] = [], unrecognizedLines: Int = 0) {
        self.protocols = protocols
        self.unrecognizedLines = unrecognizedLines
    }

    /// All sessions of all BFD protocols.
    public var sessions: [BIRDBFDSession] { protocols.flatMap(\.sessions) }
}

/// `bfd1:` and its sessions; `bfd1: is not up` gives `isUp == false` and no sessions.
public struct BIRDBFDProtocol: Sendable, Equatable {
    public var name: String
    public var isUp: Bool
    public var sessions: [BIRDBFDSession]

    public init(name: String, isUp: Bool = true, sessions: [BIRDBFDSession] = []) {
        self.name = name
        self.isUp = isUp
        self.sessions = sessions
    }
}

/// One row: address, interface, state, since, and the negotiated interval and timeout.
public struct BIRDBFDSession: Sendable, Equatable {
    public var address: String
    /// nil for `---` (a multihop session with no interface).
    public var interface: String?
    public var state: BIRDBFDState
    public var since: Date?
    public var sinceText: String
    /// Transmit interval in seconds (0 before the first packet is sent).
    public var interval: Double
    /// Detection time in seconds.
    public var timeout: Double

    public init(address: String, interface: String?, state: BIRDBFDState, since: Date?, sinceText: String, interval: Double, timeout: Double) {
        self.address = address
        self.interface = interface
        self.state = state
        self.since = since
        self.sinceText = sinceText
        self.interval = interval
        self.timeout = timeout
    }
}

/// BFD session state (BIRD 2.0.12 `bfd_state_names`).
public enum BIRDBFDState: Sendable, Hashable {
    case adminDown, down, `init`, up
    case other(String)

    public init(text: String) {
        switch text {
        case "AdminDown": self = .adminDown
        case "Down": self = .down
        case "Init": self = .`init`
        case "Up": self = .up
        default: self = .other(text)
        }
    }

    public var text: String {
        switch self {
        case .adminDown: "AdminDown"
        case .down: "Down"
        case .`init`: "Init"
        case .up: "Up"
        case .other(let text): text
        }
    }
}

extension BIRDBFDSessions {
    /// BIRD 2.0.12 quirk: with no BFD protocol configured the reply is the parse-time error
    /// `9001 There is no BFD protocol running`.
    public static let noBFDProtocolText = "There is no BFD protocol running"

    /// Parses the reply to `show bfd sessions`; the no-BFD-protocol error gives an empty result.
    public static func parse(_ reply: BIRDReply, time: BIRDTimeContext = BIRDTimeContext()) throws(BIRDParseError) -> BIRDBFDSessions {
        if reply.code == 9001 && reply.finalText == noBFDProtocolText { return BIRDBFDSessions() }
        try BIRDParseError.checkDaemonError(reply)
        var result = BIRDBFDSessions()
        var times = BIRDTimeParser(context: time)
        var sawOther = false
        reply.withLines { base, lines in
            for line in lines {
                guard line.code == 1020 else {
                    if line.code != 0 { sawOther = true; result.unrecognizedLines += 1 }
                    continue
                }
                let text = ByteSlice(base: base, start: line.textStart, end: line.textEnd).trimmed()
                if text.isEmpty { continue }
                // "%s:" or "%s: is not up". Session rows may hold colons too (IPv6), never at the end.
                if text.hasSuffix(": is not up") {
                    result.protocols.append(BIRDBFDProtocol(name: text.prefix(text.count - 11).string, isUp: false))
                    continue
                }
                if text.last == .colon, text.nextToken()?.rest.isEmpty == true {
                    result.protocols.append(BIRDBFDProtocol(name: text.prefix(text.count - 1).string))
                    continue
                }
                if text.hasPrefix("IP address") { continue }
                guard !result.protocols.isEmpty, let session = Self.session(text, times: &times) else {
                    result.unrecognizedLines += 1
                    continue
                }
                result.protocols[result.protocols.count - 1].sessions.append(session)
            }
        }
        if result.protocols.isEmpty && sawOther {
            throw .unexpectedReply(expected: "1020 BFD session lines", code: reply.code, text: reply.finalText)
        }
        return result
    }

    /// `"%-25I %-10s %-10s %-12s  %7t  %7t"`: the Since column may contain spaces, so the
    /// interval and timeout are taken from the end.
    private static func session(_ text: ByteSlice, times: inout BIRDTimeParser) -> BIRDBFDSession? {
        guard let (address, r1) = text.nextToken(),
              let (interface, r2) = r1.nextToken(),
              let (state, r3) = r2.nextToken(),
              let (r4, timeoutText) = r3.lastToken(), let timeout = timeoutText.parseDecimal(),
              let (sinceText, intervalText) = r4.lastToken(), let interval = intervalText.parseDecimal()
        else { return nil }
        let since = sinceText.trimmed()
        return BIRDBFDSession(
            address: address.string,
            interface: interface.equals("---") ? nil : interface.string,
            state: BIRDBFDState(text: state.string),
            since: times.parse(since),
            sinceText: since.string,
            interval: interval,
            timeout: timeout)
    }
}
