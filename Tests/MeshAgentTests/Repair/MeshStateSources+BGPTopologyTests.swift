import EtcdClient
import Foundation
import Logging
@testable import MeshAgent
import TestSupport
import XCTest

/// The expected sessions from the registry's records when no peers-file writer runs: three agents
/// against a real etcd 3.4 on loopback, node1 a route reflector, read through `MeshStateSources`
/// as the repair loop reads them.
final class MeshStateSourcesBGPTopologyTests: XCTestCase {
    var cluster: EtcdTestCluster!
    var root: String!
    var running: [(sync: RegistrySync, task: Task<Void, Never>, client: EtcdClient)] = []

    override func setUp() async throws {
        cluster = try EtcdTestCluster(members: 1)
        try cluster.start()
        try await cluster.waitHealthy()
        root = NSTemporaryDirectory() + "bgpmesh-expected-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() async throws {
        for entry in running {
            entry.task.cancel()
            await entry.task.value
            entry.client.shutdown()
        }
        running = []
        cluster?.stop()
        if let root { try? FileManager.default.removeItem(atPath: root) }
    }

    func start(_ name: String, role: String?) throws -> RegistrySync {
        let dir = try RegistryTestRecords.makeNodeDirectory(root: root, name)
        let client = try EtcdClient(configuration: .init(endpoints: cluster.endpoints, connectTimeout: .milliseconds(300),
                                                         requestTimeout: .seconds(2)))
        let settings = RegistrySync.Settings(prefix: RegistryTestRecords.prefix, aliveTTL: .seconds(2), tincDirectory: dir, fanout: 3,
                                             grace: .seconds(60), tick: .milliseconds(200), stateDirectory: "\(root!)/state-\(name)",
                                             overlayPrefixes: RegistryTestRecords.overlayPrefixes)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let sync = RegistrySync(settings: settings, etcd: client, reloader: nil, reachable: { nil },
                                bgp: { .init(asn: 65000, routerID: nil, role: role) }, metrics: RegistryMetrics(), logger: logger)
        running.append((sync, Task { await sync.run() }, client))
        return sync
    }

    func testAClientExpectsTheReflectorsAndAReflectorEveryone() async throws {
        let reflector = try start("node1", role: "reflector")
        let client = try start("node2", role: nil)
        _ = try start("node3", role: nil)
        var clientSources = MeshStateSources(registry: client)
        clientSources.bgp = .init(role: .client, topology: .reflectors)
        var reflectorSources = MeshStateSources(registry: reflector)
        reflectorSources.bgp = .init(role: .reflector, topology: .reflectors)
        await waitUntil("both agents see all three records", timeout: .seconds(20), poll: .milliseconds(50)) { () async in
            let onClient = await clientSources.read().registry?.peers.count
            let onReflector = await reflectorSources.read().registry?.peers.count
            return onClient == 2 && onReflector == 2
        }

        // No tinc interface runs here, so the records carry no overlay address: the plan knows
        // the reflector and its peers, and skips each for want of an address to peer with.
        let onClient = await clientSources.read()
        let clientPlan = try XCTUnwrap(onClient.bgpPlan)
        XCTAssertEqual(clientPlan.reflectors, ["node1"], "node1's record says bgp.role: reflector")
        XCTAssertEqual(clientPlan.skipped, ["node1": .noAddress], "a client plans the reflector only, not node3")
        XCTAssertEqual(clientPlan.peers, [])
        XCTAssertEqual(onClient.bgpTopology, .reflectors)
        XCTAssertNil(onClient.birdPeersRefused)
        var builder = MeshStateBuilder()
        let state = builder.build(onClient, now: .now)
        XCTAssertEqual(state.expectedSessions, [])
        XCTAssertEqual(HealthModel.evaluate(state).problems.filter { $0.kind == .noReflectorSession || $0.kind == .bgpSessionMissing }, [],
                       "the mesh has a reflector, and without the BIRD collector no session is judged")

        let reflectorPlan = await reflectorSources.read().bgpPlan
        let onReflector = try XCTUnwrap(reflectorPlan)
        XCTAssertEqual(onReflector.reflectors, ["node1"])
        XCTAssertEqual(onReflector.skipped, ["node2": .noAddress, "node3": .noAddress], "a reflector plans every client")

        // Without a registry the plan is unknown; the configured role and topology are still there.
        var alone = MeshStateSources()
        alone.bgp = .init(role: .reflector, topology: .reflectors)
        let none = await alone.read()
        XCTAssertNil(none.bgpPlan)
        XCTAssertEqual(none.bgpRole, .reflector)
    }
}
