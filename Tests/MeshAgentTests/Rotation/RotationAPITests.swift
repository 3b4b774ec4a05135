import EtcdClient
import Foundation
import Logging
@testable import MeshAgent
import XCTest

/// POST /api/v1/keys/rotate and `key_rotation` in /api/v1/status on the real HTTP server,
/// asked through `LocalAPIClient` (the client of `bgpmesh-agent rotate-key`). No etcd answers,
/// so the registry is never ready: a rotation is refused with the reason, never started.
final class RotationAPITests: XCTestCase {
    func rotation(restartCommand: String?) throws -> (KeyRotation, EtcdClient) {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // A loopback port nothing listens on.
        let etcd = try EtcdClient(configuration: .init(endpoints: ["http://127.0.0.1:9"], connectTimeout: .milliseconds(100),
                                                       requestTimeout: .milliseconds(200)))
        let registry = RegistrySync(settings: .init(prefix: "/bgpmesh/test/", tincDirectory: "/nonexistent"), etcd: etcd, reloader: nil,
                                    reachable: { nil }, bgp: { .init(asn: nil, routerID: nil) }, metrics: RegistryMetrics(), logger: logger)
        let daemon = KeyRotation.Daemon(pid: { nil }, retry: {}, restart: { _ in nil })
        let rotation = KeyRotation(settings: .init(stateDirectory: "/nonexistent", tincDirectory: "/nonexistent", restartCommand: restartCommand),
                                   registry: registry, daemon: daemon, metrics: RotationMetrics(now: { 0 }), logger: logger)
        return (rotation, etcd)
    }

    func testRotateAnswersWithTheReasonAndStatusCarriesThePhase() async throws {
        let (rotation, etcd) = try rotation(restartCommand: nil)
        defer { etcd.shutdown() }
        let server = try APITestServer(rotation: rotation)
        let base = "http://127.0.0.1:\(server.port)"
        let unauthorized = try LocalAPIClient.send("POST", url: base + APIRoutes.rotatePath, token: nil)
        XCTAssertEqual(unauthorized.status, 401)
        let wrong = try LocalAPIClient.send("POST", url: base + APIRoutes.rotatePath, token: "wrong-token")
        XCTAssertEqual(wrong.status, 401)
        let refused = try LocalAPIClient.send("POST", url: base + APIRoutes.rotatePath, token: APITestServer.token)
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue(refused.body.contains("repair.tincd-restart-command"), refused.body)
        let status = try LocalAPIClient.send("GET", url: base + APIRoutes.statusPath, token: nil)
        XCTAssertEqual(status.status, 200)
        struct Document: Decodable {
            var keyRotation: KeyRotation.Status
            enum CodingKeys: String, CodingKey { case keyRotation = "key_rotation" }
        }
        let document = try JSONDecoder().decode(Document.self, from: Data(status.body.utf8))
        XCTAssertEqual(document.keyRotation.phase, "idle")
        XCTAssertNil(document.keyRotation.id)
        await server.stop()
    }

    func testARegistryNotInSyncRefusesToo() async throws {
        let (rotation, etcd) = try rotation(restartCommand: "true")
        defer { etcd.shutdown() }
        let server = try APITestServer(rotation: rotation)
        let refused = try LocalAPIClient.send("POST", url: "http://127.0.0.1:\(server.port)" + APIRoutes.rotatePath, token: APITestServer.token)
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue(refused.body.contains("not in sync"), refused.body)
        await server.stop()
    }

    func testTheClientNamesWhatWentWrong() {
        XCTAssertThrowsError(try LocalAPIClient.send("GET", url: "https://127.0.0.1:1/", token: nil)) { error in
            XCTAssertTrue("\(error)".contains("only http://"), "\(error)")
        }
        XCTAssertThrowsError(try LocalAPIClient.send("GET", url: "http://127.0.0.1:9/", token: nil)) { error in
            XCTAssertTrue("\(error)".contains("cannot connect"), "\(error)")
        }
    }
}
