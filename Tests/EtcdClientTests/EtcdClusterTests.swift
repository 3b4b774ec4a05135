@testable import EtcdClient
import Foundation
import TestSupport
import XCTest

/// A three-member etcd cluster on loopback with one member killed: calls fail over to the
/// other endpoints and keep succeeding, and a watch resumes on another member.
final class EtcdClusterTests: XCTestCase {
    private var cluster: EtcdTestCluster?
    private var clients: [EtcdClient] = []

    override func tearDown() {
        for client in clients { client.shutdown() }
        clients = []
        cluster?.stop()
        cluster = nil
        super.tearDown()
    }

    private func startCluster() async throws -> EtcdTestCluster {
        let cluster = try EtcdTestCluster(members: 3)
        self.cluster = cluster
        try cluster.start()
        try await cluster.waitHealthy()
        return cluster
    }

    private func client(_ endpoints: [String], observer: EtcdClient.Observer? = nil) throws -> EtcdClient {
        let client = try EtcdClient(configuration: .init(endpoints: endpoints, connectTimeout: .milliseconds(300), requestTimeout: .seconds(4),
                                                         watchBackoff: .milliseconds(50), watchBackoffMax: .milliseconds(500)),
                                    observer: observer)
        clients.append(client)
        return client
    }

    /// Member indices ordered with the leader last.
    private func followersFirst(_ cluster: EtcdTestCluster) async throws -> [Int] {
        let probe = try client(cluster.endpoints)
        var leaderIndex = -1
        for index in 0..<3 {
            let status = try await probe.status(endpoint: cluster.endpoint(index))
            if status.isLeader { leaderIndex = index }
        }
        XCTAssertNotEqual(leaderIndex, -1, "no leader")
        return (0..<3).filter { $0 != leaderIndex } + [leaderIndex]
    }

    func testFailoverWhenAFollowerIsKilled() async throws {
        let cluster = try await startCluster()
        let order = try await followersFirst(cluster)
        let victim = order[0]
        let log = ObserverLog()
        let client = try client(order.map(cluster.endpoint), observer: log.observer)
        let members = try await client.memberList().members.count
        XCTAssertEqual(members, 3)
        XCTAssertEqual(client.currentEndpoint, cluster.endpoint(victim))

        let watch = WatchRecorder(client.watch(.prefix("/f/")))
        defer { watch.cancel() }
        await watch.wait("the watch is created") { $0.createdCount == 1 }
        for index in 0..<5 { try await client.put("/f/\(index)", value: "\(index)") }
        await watch.wait("five events") { $0.events.count == 5 }

        cluster.kill(victim)
        var failures: [EtcdError] = []
        for index in 5..<25 {
            do {
                try await client.put("/f/\(index)", value: "\(index)")
                let read = try await client.range(.key("/f/\(index)"))
                XCTAssertEqual(read.kvs.first?.valueString, "\(index)")
            } catch {
                failures.append(error)
            }
        }
        XCTAssertEqual(failures, [], "calls failed after a member was killed")
        XCTAssertNotEqual(client.currentEndpoint, cluster.endpoint(victim))
        let total = try await client.range(.prefix("/f/"), options: EtcdRangeOptions(countOnly: true)).count
        XCTAssertEqual(total, 25)

        // The watch was on the killed member: it reconnects elsewhere and resumes.
        await watch.wait(seconds: 15, "all 25 events after the failover") { $0.events.count >= 25 }
        try await Task.sleep(for: .milliseconds(200)) // a quiet window: a repeated event would arrive in it
        XCTAssertEqual(watch.events.map(\.kv.keyString), (0..<25).map { "/f/\($0)" }, "nothing lost, nothing repeated")
        XCTAssertGreaterThanOrEqual(watch.createdCount, 2)
        XCTAssertFalse(watch.finished)

        // Per-member calls name the dead member; the others answer.
        do {
            _ = try await client.health(endpoint: cluster.endpoint(victim))
            XCTFail("the killed member answered")
        } catch {
            guard case .transport("health", _, 7, _) = error else { return XCTFail("\(error)") }
        }
        for index in order.dropFirst() {
            let health = try await client.health(endpoint: cluster.endpoint(index)).healthy
            XCTAssertEqual(health, true)
        }
        XCTAssertEqual(log.count("put", success: false), 0)
    }

    func testReadsSurviveKillingTheLeader() async throws {
        let cluster = try await startCluster()
        let order = try await followersFirst(cluster)
        let leader = order[2]
        // The leader's endpoint first: the client starts on it.
        let client = try client([cluster.endpoint(leader)] + order.prefix(2).map(cluster.endpoint))
        try await client.put("/l/k", value: "v")
        cluster.kill(leader)

        // Reads fail over at once (a quorum read may wait for the election, 500 ms here).
        var readFailures: [EtcdError] = []
        for _ in 0..<10 {
            do {
                let value = try await client.range(.key("/l/k")).kvs.first?.valueString
                XCTAssertEqual(value, "v")
            } catch {
                readFailures.append(error)
            }
        }
        XCTAssertEqual(readFailures, [])
        // Writes work again once the two remaining members have elected a leader.
        let deadline = Date().addingTimeInterval(10)
        var written = false
        while !written && Date() < deadline {
            do {
                try await client.put("/l/k", value: "after")
                written = true
            } catch {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        XCTAssertTrue(written, "no write succeeded after the leader was killed")
        let status = try await client.status()
        XCTAssertNotEqual(status.leader, 0)
    }
}

extension EtcdClusterTests {
    /// The watch asks etcd to require a leader: when its member loses quorum, etcd ends the
    /// stream instead of leaving it silent forever (verified: without the header this test
    /// times out), and the watch moves on (here: gives up, since the other members are dead
    /// and the retry limit is 2).
    func testWatchLeavesAMemberThatLostItsLeader() async throws {
        let cluster = try await startCluster()
        let survivor = 0
        let client = try EtcdClient(configuration: .init(endpoints: [cluster.endpoint(survivor), cluster.endpoint(1)], connectTimeout: .milliseconds(300),
                                                         requestTimeout: .seconds(2), watchRetryLimit: 2, watchBackoff: .milliseconds(50)))
        defer { client.shutdown() }
        let watch = WatchRecorder(client.watch(.prefix("/q/")))
        defer { watch.cancel() }
        await watch.wait("the watch is created") { $0.createdCount == 1 }
        cluster.kill(1)
        cluster.kill(2)
        await watch.wait(seconds: 10, "the watch notices the lost leader") { $0.finished }
        guard case .unavailable("watch", let errors)? = watch.error else { return XCTFail("\(String(describing: watch.anyError))") }
        // etcd 3.4.23 ends the stream without an error line once the member has no leader.
        guard case .transport("watch", cluster.endpoint(survivor), 0, "etcd closed the watch stream")? = errors.first else { return XCTFail("\(errors)") }
    }
}
