#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Typed show commands and the repair actions.
extension BIRDClient {
    /// `show status`.
    public func status(time: BIRDTimeContext? = nil) async throws(BIRDControlError) -> BIRDStatus {
        let reply = try await command("show status")
        return try parsed("show status") { () throws(BIRDParseError) in try BIRDStatus.parse(reply, time: time ?? timeContext()) }
    }

    /// `show protocols` (short) or `show protocols all`, optionally for one protocol name or a
    /// quoted pattern such as `"peer_*"` (BIRD replies `8003 No protocols match` if none do).
    public func protocols(all: Bool = true, matching name: String? = nil, time: BIRDTimeContext? = nil) async throws(BIRDControlError) -> BIRDProtocolList {
        var text = all ? "show protocols all" : "show protocols"
        if let name { text += " " + (try Self.protocolArgument(name)) }
        let reply = try await command(text)
        return try parsed(text) { () throws(BIRDParseError) in try BIRDProtocolList.parse(reply, time: time ?? timeContext()) }
    }

    /// `show route count table all` (every table) or `show route count` (tables BIRD shows by
    /// default: each address family's main table and tables without a default).
    public func routeCount(allTables: Bool = true) async throws(BIRDControlError) -> BIRDRouteCount {
        let text = allTables ? "show route count table all" : "show route count"
        let reply = try await command(text)
        return try parsed(text) { () throws(BIRDParseError) in try BIRDRouteCount.parse(reply) }
    }

    /// `show memory`.
    public func memory() async throws(BIRDControlError) -> BIRDMemory {
        let reply = try await command("show memory")
        return try parsed("show memory") { () throws(BIRDParseError) in try BIRDMemory.parse(reply) }
    }

    /// `show bfd sessions`. Without any BFD protocol BIRD 2.0.12 replies `9001 There is no BFD
    /// protocol running`; that gives an empty result, not an error.
    public func bfdSessions(time: BIRDTimeContext? = nil) async throws(BIRDControlError) -> BIRDBFDSessions {
        let reply: BIRDReply
        do {
            reply = try await command("show bfd sessions")
        } catch {
            if case .daemon(9001, BIRDBFDSessions.noBFDProtocolText, _) = error { return BIRDBFDSessions() }
            throw error
        }
        return try parsed("show bfd sessions") { () throws(BIRDParseError) in try BIRDBFDSessions.parse(reply, time: time ?? timeContext()) }
    }

    // MARK: Repair actions (need `restricted: false`; a restricted session gets `8007 Access denied`)

    /// `enable <name>`: `0011 name: enabled` or `0010 name: already enabled`.
    @discardableResult
    public func enable(protocol name: String) async throws(BIRDControlError) -> BIRDReply {
        try await command("enable " + (try Self.protocolArgument(name)))
    }

    /// `disable <name>`: `0009 name: disabled` or `0008 name: already disabled`.
    @discardableResult
    public func disable(protocol name: String) async throws(BIRDControlError) -> BIRDReply {
        try await command("disable " + (try Self.protocolArgument(name)))
    }

    /// `restart <name>`: `0012 name: restarted`.
    @discardableResult
    public func restart(protocol name: String) async throws(BIRDControlError) -> BIRDReply {
        try await command("restart " + (try Self.protocolArgument(name)))
    }

    /// `configure [soft] ["file"]`: `0003 Reconfigured`, `0004 Reconfiguration in progress`, ...
    /// A configuration error is `8002` and throws `.daemon`.
    @discardableResult
    public func configure(file: String? = nil, soft: Bool = false, timeout: Duration? = nil) async throws(BIRDControlError) -> BIRDReply {
        let text = (soft ? "configure soft" : "configure") + (try Self.configurationFileArgument(file))
        return try await command(text, timeout: timeout)
    }

    /// `configure check ["file"]`: BIRD parses its configuration (the main file and its includes)
    /// without applying it. `0020 Configuration OK`; an error is `8002 <file>:<line>:<column>
    /// <message>` and throws `.daemon`.
    @discardableResult
    public func configureCheck(file: String? = nil, timeout: Duration? = nil) async throws(BIRDControlError) -> BIRDConfigureOutcome {
        let text = "configure check" + (try Self.configurationFileArgument(file))
        let reply = try await command(text, timeout: timeout)
        return try BIRDConfigureOutcome.parse(reply, command: text)
    }

    /// `configure` and what came of it: `configure(file:soft:timeout:)` with the reply typed.
    public func reconfigure(file: String? = nil, timeout: Duration? = nil) async throws(BIRDControlError) -> BIRDConfigureOutcome {
        let reply = try await configure(file: file, timeout: timeout)
        return try BIRDConfigureOutcome.parse(reply, command: "configure")
    }

    // MARK: Helpers

    /// A protocol name (a BIRD symbol) or a quoted pattern such as `"peer_*"`.
    static func protocolArgument(_ name: String) throws(BIRDControlError) -> String {
        let bytes = Array(name.utf8)
        func isSymbolByte(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "_") || byte.isDigit || ((byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z"))
        }
        if let first = bytes.first, !first.isDigit, bytes.allSatisfy(isSymbolByte) {
            return name
        }
        if bytes.count >= 3, bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\""),
           !bytes.dropFirst().dropLast().contains(where: { $0 == UInt8(ascii: "\"") || $0 < 0x20 }) {
            return name
        }
        throw .invalidArgument("protocol name \(name.debugDescription) is neither a symbol nor a quoted pattern")
    }

    /// ` "file"`, or nothing for BIRD's own configuration file.
    static func configurationFileArgument(_ file: String?) throws(BIRDControlError) -> String {
        guard let file else { return "" }
        guard !file.isEmpty, !file.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 < 0x20 }) else {
            throw .invalidArgument("configuration file name \(file.debugDescription) is empty or holds a quote or control character")
        }
        return " \"\(file)\""
    }

    private func timeContext() -> BIRDTimeContext {
        BIRDTimeContext(timeZone: configuration.timeZone, now: Date())
    }

    private func parsed<T>(_ command: String, _ body: () throws(BIRDParseError) -> T) throws(BIRDControlError) -> T {
        do {
            return try body()
        } catch {
            throw .unparsable(command: command, reason: error.description)
        }
    }
}

/// BIRD 2.0.12's answer to `configure check` and `configure` (reply codes from its doc/reply_codes).
public enum BIRDConfigureOutcome: Sendable, Equatable {
    /// `0020 Configuration OK` (`configure check`).
    case ok
    /// `0003 Reconfigured`: the new configuration is in effect.
    case reconfigured
    /// `0004 Reconfiguration in progress`: in effect once the protocols it removes or changes
    /// have shut down.
    case inProgress
    /// `0005 Reconfiguration already in progress, queueing new config`: applied after the one in progress.
    case queued
    /// `0006 Reconfiguration ignored, shutting down`: not applied.
    case ignored

    /// The code of a configuration BIRD refuses (`8002 <file>:<line>:<column> <message>`).
    public static let configurationErrorCode = 8002

    /// The outcome of a reply that is not an error (`BIRDClient` throws those).
    public static func parse(_ reply: BIRDReply, command: String) throws(BIRDControlError) -> BIRDConfigureOutcome {
        switch reply.code {
        case 20: .ok
        case 3: .reconfigured
        case 4: .inProgress
        case 5: .queued
        case 6: .ignored
        default: throw .unexpectedReply(command: command, code: reply.code, text: reply.finalText)
        }
    }

    /// BIRD took the configuration (now, or once what is in progress ends).
    public var isAccepted: Bool {
        switch self {
        case .ok, .reconfigured, .inProgress, .queued: true
        case .ignored: false
        }
    }
}
