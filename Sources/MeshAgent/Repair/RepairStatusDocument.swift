#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON document of `GET /api/v1/status`: the last mesh state, its health report, and the
/// repair audit trail (newest first).
struct RepairStatusDocument: Encodable {
    struct Health: Encodable {
        var score: Double
        var reasons: [String]
        var problems: [Problem]
    }
    struct Problem: Encodable {
        var kind: String
        var peer: String
        var reason: String
    }
    struct Peer: Encodable {
        var name: String
        var alive: Bool
        var tinc_reachable: Bool?
        var meta_connection: Bool?
        var probe_up: Bool?
        var probe_loss_ratio: Double?
        var probe_rtt_seconds: Double?
        var host_file: String
    }
    struct Session: Encodable {
        var name: String
        var peer: String?
        var neighbor: String?
        var state: String
        var established: Bool
        var down_seconds: Double?
    }
    var node: String?
    var version: String
    var repair_mode: String
    var health: Health
    var tincd_running: Bool?
    var bird_up: Bool?
    var registry_synced: Bool?
    var peers: [Peer]
    var sessions: [Session]
    /// Role, topology and the expected sessions (RepairStatusDocument+BGP.swift).
    var bgp: BGP
    var recent_actions: [RepairController.AuditEntry]

    init(state s: MeshState, report r: HealthReport, mode: RepairMode, audit: [RepairController.AuditEntry]) {
        node = s.node
        version = BuildInfo.version
        repair_mode = mode.rawValue
        health = .init(score: r.score, reasons: r.problems.map(\.reason),
                       problems: r.problems.map { .init(kind: $0.kind.rawValue, peer: $0.peer, reason: $0.reason) })
        tincd_running = s.tincdRunning
        bird_up = s.birdUp
        registry_synced = s.registrySynced
        peers = s.peers.map { .init(name: $0.name, alive: $0.alive, tinc_reachable: $0.tincReachable, meta_connection: $0.metaConnection,
                                    probe_up: $0.probeUp, probe_loss_ratio: $0.probeLoss, probe_rtt_seconds: $0.probeRTT,
                                    host_file: $0.hostFile.rawValue) }
        sessions = s.sessions.map { .init(name: $0.name, peer: $0.peer, neighbor: $0.neighbor, state: $0.state, established: $0.established, down_seconds: $0.downFor) }
        bgp = BGP(s)
        recent_actions = audit.reversed()
    }

    /// Sorted keys, pretty-printed; `{}` if encoding fails.
    var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(self))) ?? Array("{}".utf8)
    }
}
