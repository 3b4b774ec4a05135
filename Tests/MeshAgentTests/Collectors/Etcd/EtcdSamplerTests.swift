import EtcdClient
import Exposition
import Foundation
import Logging
import TestSupport
import XCTest
@testable import MeshAgent

/// The etcd collector encodes the etcd sampler's last poll of a real etcd; a scrape never asks etcd.
final class EtcdSamplerTests: XCTestCase {
    func testTheCollectorShowsTheSamplersLastPoll() async throws {
        let cluster = try EtcdTestCluster(members: 1)
        try cluster.start()
        defer { cluster.stop() }
        try await cluster.waitHealthy()
        var configuration = EtcdClient.Configuration(endpoints: cluster.endpoints)
        configuration.requestTimeout = .seconds(2)
        let client = try EtcdClient(configuration: configuration)
        defer { client.shutdown() }
        let clock = ManualClock()
        let sampler = EtcdSampler(client: client, clock: clock.clock, logger: Logger(label: "test"))
        let collector = EtcdCollector(sampler: sampler, requests: EtcdRequestMetrics())
        var families = try await collector.collect()
        XCTAssertEqual(Families.value(families, "bgpmesh_etcd_up"), 0, "nothing polled yet")

        await sampler.poll()
        XCTAssertEqual(sampler.snapshot?.collectedAt, clock.clock.date())
        families = try await collector.collect()
        XCTAssertEqual(Families.value(families, "bgpmesh_etcd_up"), 1)
        XCTAssertEqual(Families.value(families, "bgpmesh_etcd_members"), 1)
        XCTAssertEqual(Families.value(families, "bgpmesh_etcd_has_leader"), 1)

        // etcd stops: scrapes keep showing the last poll until the sampler polls again.
        cluster.stop()
        families = try await collector.collect()
        XCTAssertEqual(Families.value(families, "bgpmesh_etcd_up"), 1, "a scrape does not ask etcd")
        clock.advance(.seconds(5))
        await sampler.poll()
        XCTAssertNotNil(sampler.snapshot?.error)
        families = try await collector.collect()
        XCTAssertEqual(Families.value(families, "bgpmesh_etcd_up"), 0)
        XCTAssertNil(families.first { $0.name == "bgpmesh_etcd_members" })
    }
}
