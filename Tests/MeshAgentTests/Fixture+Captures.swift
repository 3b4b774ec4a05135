import BIRDControl
import Foundation
@testable import MeshAgent

/// Captures decoded for the tests that share them.
extension Fixture {
    /// A webhook body captured from Alertmanager 0.25 (Fixtures/alertmanager/<name>.json).
    static func alertmanagerPayload(_ name: String) throws -> [UInt8] {
        Array(try text("alertmanager/\(name).json").utf8)
    }

    /// A reply captured from BIRD 2.0.12 (Fixtures/bird/<file>).
    static func birdReply(_ file: String) throws -> BIRDReply {
        try BIRDReply(parsing: Array(text("bird/\(file)").utf8))
    }

    /// A BIRD snapshot as the collector would have read it at capture time (the capture ran in UTC).
    static func birdSnapshot() throws -> BIRDSnapshot {
        let utc = TimeZone(identifier: "UTC")!
        let statusReply = try birdReply("show-status.txt")
        let status = try BIRDStatus.parse(statusReply, time: BIRDTimeContext(timeZone: utc))
        let time = BIRDTimeContext(timeZone: utc, now: status.serverTime!)
        return BIRDSnapshot(
            status: status,
            protocols: try BIRDProtocolList.parse(birdReply("show-protocols-all.txt"), time: time),
            routeCount: try BIRDRouteCount.parse(birdReply("show-route-count-table-all.txt")),
            memory: try BIRDMemory.parse(birdReply("show-memory.txt")),
            bfd: try BIRDBFDSessions.parse(birdReply("show-bfd-sessions.txt"), time: time),
            collectedAt: status.serverTime!)
    }
}
