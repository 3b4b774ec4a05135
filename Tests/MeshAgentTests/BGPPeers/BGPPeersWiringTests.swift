import Logging
import XCTest
@testable import MeshAgent

/// The agent builds the peers-file writer only with bird.peers-file and the registry, and the
/// health model reaches its state through the registry.
final class BGPPeersWiringTests: XCTestCase {
    private func parts(peersFile: String?, registry: Bool = true) -> Agent.Parts {
        var c = AgentConfiguration()
        c.etcdEndpoints = ["http://127.0.0.1:9"]
        c.registryEnabled = registry
        c.meshOverlayPrefixes = RegistryTestRecords.overlayPrefixes
        c.birdPeersFile = peersFile
        c.meshASN = 65000
        c.stateDir = NSTemporaryDirectory() + "bgpmesh-wiring-\(getpid())"
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return Agent.makeCollectors(for: c, logger: logger)
    }

    func testWriterOnlyWithThePeersFileAndTheRegistry() {
        let with = parts(peersFile: "/tmp/bgpmesh-wiring-peers.conf")
        XCTAssertTrue(with.collectors.contains { $0.name == "bird_peers" })
        let writer = with.repair?.sources.registry?.peersWriter
        XCTAssertEqual(writer?.settings.path, "/tmp/bgpmesh-wiring-peers.conf")
        XCTAssertNil(writer?.state.plan, "nothing offered yet")

        XCTAssertFalse(parts(peersFile: nil).collectors.contains { $0.name == "bird_peers" })
        XCTAssertNil(parts(peersFile: nil).repair?.sources.registry?.peersWriter)
        XCTAssertFalse(parts(peersFile: "/tmp/x.conf", registry: false).collectors.contains { $0.name == "bird_peers" })
    }
}
