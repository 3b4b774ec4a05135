import Foundation
@testable import MeshAgent
import XCTest

/// `bgp` in /api/v1/status, next to the fields it had before.
final class RepairStatusDocumentBGPTests: XCTestCase {
    func document(_ state: MeshState) throws -> [String: Any] {
        let json = RepairStatusDocument(state: state, report: HealthModel.evaluate(state), mode: .on, audit: []).json
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    }

    /// Client c1 of reflectors r1 (Established), r2 (Active) and r3 (no protocol), with the
    /// operator's own session `upstream` Established.
    func client() -> MeshState {
        var s = MeshState(node: "c1", peers: ["c2", "r1", "r2", "r3"].map { .init(name: $0, alive: true, tincReachable: true) },
                          sessions: [.init(name: "bgpmesh_r1", peer: "r1", neighbor: "198.51.100.1", state: "Established", established: true),
                                     .init(name: "bgpmesh_r2", peer: "r2", neighbor: "198.51.100.2", state: "Active", established: false, downFor: 5),
                                     .init(name: "upstream", peer: nil, neighbor: "203.0.113.9", state: "Established", established: true)],
                          tincdRunning: true, birdUp: true, registrySynced: true)
        s.bgpExpectation = .init(role: .client, topology: .reflectors,
                                 sessions: [.init(peer: "r1", address: "198.51.100.1", reflector: true, session: "bgpmesh_r1"),
                                            .init(peer: "r2", address: "198.51.100.2", reflector: true, session: "bgpmesh_r2"),
                                            .init(peer: "r3", address: "198.51.100.3", reflector: true)],
                                 reflectors: ["r1", "r2", "r3"], peersRefused: "syntax error")
        return s
    }

    func testTheBGPObjectListsRoleTopologyReflectorsAndEachExpectedSession() throws {
        let doc = try document(client())
        let bgp = try XCTUnwrap(doc["bgp"] as? NSDictionary)
        let expected: NSDictionary = [
            "role": "client", "topology": "reflectors", "reflectors": ["r1", "r2", "r3"], "established": 1,
            "peers_config_refused": "syntax error",
            "expected_sessions": [
                ["peer": "r1", "address": "198.51.100.1", "reflector": true, "session": "bgpmesh_r1", "state": "Established"],
                ["peer": "r2", "address": "198.51.100.2", "reflector": true, "session": "bgpmesh_r2", "state": "Active"],
                ["peer": "r3", "address": "198.51.100.3", "reflector": true, "state": "missing"],
            ],
        ]
        XCTAssertEqual(bgp, expected)
        // The fields the document had before stay as they were.
        XCTAssertEqual(Set(doc.keys), ["node", "version", "repair_mode", "health", "tincd_running", "bird_up", "registry_synced",
                                       "peers", "sessions", "recent_actions", "bgp"])
        XCTAssertEqual((doc["sessions"] as? [[String: Any]])?.compactMap { $0["name"] as? String }, ["bgpmesh_r1", "bgpmesh_r2", "upstream"])
        let kinds = (doc["health"] as? [String: Any])?["problems"] as? [[String: Any]]
        XCTAssertEqual(kinds?.map { "\($0["kind"] ?? "")/\($0["peer"] ?? "")" },
                       ["bgp_session_down/bgpmesh_r2", "bgp_session_missing/r3", "bird_config_refused/", "reflector_session_down/r2"])
    }

    func testWithoutAPlanEveryEstablishedSessionCountsAndNoneIsExpected() throws {
        var state = client()
        state.bgpExpectation = .init(role: .reflector, topology: .full)
        let bgp = try XCTUnwrap(try document(state)["bgp"] as? NSDictionary)
        XCTAssertEqual(bgp, ["role": "reflector", "topology": "full", "reflectors": [String](), "established": 2] as NSDictionary)
    }
}
