import Exposition
import Foundation
@testable import MeshAgent
import TestSupport
import XCTest

/// The pure pieces of the rotation: the own host file's key swap, the status member, the state file.
final class RotationPiecesTests: XCTestCase {
    func testOnlyTheKeyBlockOfTheOwnHostFileChanges() {
        let old = "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n"
        let new = "-----BEGIN RSA PUBLIC KEY-----\nBBBB\nCCCC\n-----END RSA PUBLIC KEY-----\n"
        let text = "Address = 192.0.2.12\nSubnet = 203.0.113.2/32\n\n" + old + "# after\n"
        XCTAssertEqual(OwnHostFile.replacingKey(in: text, with: new), "Address = 192.0.2.12\nSubnet = 203.0.113.2/32\n\n" + new + "# after\n")
        XCTAssertEqual(OwnHostFile.replacingKey(in: "Address = 192.0.2.12\n", with: new), "Address = 192.0.2.12\n\n" + new)
        let spki = "Port = 655\n-----BEGIN PUBLIC KEY-----\nZZZZ\n-----END PUBLIC KEY-----\n"
        XCTAssertEqual(OwnHostFile.replacingKey(in: spki, with: new), "Port = 655\n" + new)
        // `tincd -K` keeps the previous key above the current one as OLD PUBLIC KEY: it stays.
        let retired = "-----BEGIN OLD PUBLIC KEY-----\nYYYY\n-----END OLD PUBLIC KEY-----\n"
        XCTAssertEqual(OwnHostFile.replacingKey(in: "Port = 655\n" + retired + old, with: new), "Port = 655\n" + retired + new)
    }

    func testTheStatusMemberGoesIntoTheDocument() {
        let status = KeyRotation.Status(id: "node2-1-a", phase: "published", started: "2026-01-01T00:00:00Z", peersAcked: 1, peersExpected: 2)
        let out = String(decoding: RepairAPI.adding("key_rotation", status, to: Array("{\"mode\":\"on\"}\n".utf8)), as: UTF8.self)
        XCTAssertEqual(out, "{\"mode\":\"on\",\"key_rotation\":{\"id\":\"node2-1-a\",\"peers_acked\":1,\"peers_expected\":2,"
                       + "\"phase\":\"published\",\"started\":\"2026-01-01T00:00:00Z\"}}\n")
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(out.utf8)))
        XCTAssertEqual(String(decoding: RepairAPI.adding("k", status.phase, to: Array("{}".utf8)), as: UTF8.self), "{\"k\":\"published\"}")
    }

    func testTheMetricsAreWhatPromtoolAccepts() throws {
        let metrics = RotationMetrics(now: { 1_000_000 })
        metrics.update {
            $0.phase = .published
            $0.keySince = 999_000
            $0.results[.rolledBack] = 2
        }
        let text = String(decoding: ExpositionEncoder.encode(metrics.families, format: .text004), as: UTF8.self)
        XCTAssertTrue(text.contains("bgpmesh_key_age_seconds 1000\n"), text)
        XCTAssertTrue(text.contains("bgpmesh_key_rotation_phase{phase=\"published\"} 1\n"), text)
        XCTAssertTrue(text.contains("bgpmesh_key_rotation_phase{phase=\"idle\"} 0\n"), text)
        XCTAssertTrue(text.contains("bgpmesh_key_rotations_total{result=\"rolled_back\"} 2\n"), text)
        XCTAssertEqual(try Promtool.check(ExpositionEncoder.encode(metrics.families, format: .text004)).output, "")
    }

    func testAStateFileThatIsNotJSONStopsRotationsWithItsPath() throws {
        let dir = NSTemporaryDirectory() + "bgpmesh-rotation-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(try RotationState.load(directory: dir), RotationState())
        var state = RotationState()
        state.keySince = 42
        state.counts["success"] = 1
        try state.save(directory: dir)
        XCTAssertEqual(try RotationState.load(directory: dir), state)
        try "{broken".write(toFile: dir + "/" + RotationState.fileName, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RotationState.load(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains(RotationState.fileName), "\(error)")
        }
    }
}
