#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The parts of `GET /api/v1/status` the map page and `bgpmesh-agent status` show, decoded
/// leniently (every field optional), so either reads any agent's status document.
public struct StatusDigest: Decodable, Sendable, Equatable {
    public struct Health: Decodable, Sendable, Equatable {
        public var score: Double?
        public var problems: [Problem]?
    }
    public struct Problem: Decodable, Sendable, Equatable {
        public var kind: String?
        public var peer: String?
        public var reason: String?
    }
    public struct Peer: Decodable, Sendable, Equatable {
        public var name: String
        public var alive: Bool?
        public var tinc_reachable: Bool?
        public var meta_connection: Bool?
        public var probe_loss_ratio: Double?
        public var probe_rtt_seconds: Double?
        public var host_file: String?

        /// `direct`, `relayed`, `down` or `?`, as in the views.
        public var tinc: String {
            guard let reachable = tinc_reachable else { return "?" }
            return !reachable ? "down" : meta_connection == true ? "direct" : "relayed"
        }
    }
    public struct Session: Decodable, Sendable, Equatable {
        public var name: String
        public var peer: String?
        public var neighbor: String?
        public var state: String?
        public var established: Bool?
        public var down_seconds: Double?
    }
    public struct Action: Decodable, Sendable, Equatable {
        public var time: Double?
        public var action: String?
        public var target: String?
        public var trigger: String?
        public var result: String?
        public var reason: String?
    }

    public var node: String?
    public var version: String?
    public var repair_mode: String?
    public var health: Health?
    public var peers: [Peer]?
    public var sessions: [Session]?
    public var recent_actions: [Action]?

    public static func decode(_ bytes: [UInt8]) throws -> StatusDigest {
        try JSONDecoder().decode(StatusDigest.self, from: Data(bytes))
    }

    /// The newest repair aimed at `peer` (by target, or a session of that peer).
    public func lastRepair(for peer: String) -> Action? {
        let sessionNames = Set((sessions ?? []).filter { $0.peer == peer }.map(\.name))
        return (recent_actions ?? []).first { $0.target == peer || sessionNames.contains($0.target ?? "") }
    }
}
