@testable import EtcdClient
import Foundation
import TestSupport
import XCTest

/// The client against one real etcd 3.4 member on loopback.
final class RealEtcdTests: XCTestCase {
    private var cluster: EtcdTestCluster?
    private var clients: [EtcdClient] = []

    override func tearDown() {
        for client in clients { client.shutdown() }
        clients = []
        cluster?.stop()
        cluster = nil
        super.tearDown()
    }

    func startEtcd(_ extra: [String] = []) async throws -> EtcdTestCluster {
        let cluster = try EtcdTestCluster(members: 1, extraArguments: extra)
        self.cluster = cluster
        try cluster.start()
        try await cluster.waitHealthy()
        return cluster
    }

    func client(_ endpoints: [String], observer: EtcdClient.Observer? = nil, configure: (inout EtcdClient.Configuration) -> Void = { _ in }) throws -> EtcdClient {
        var configuration = EtcdClient.Configuration(endpoints: endpoints, connectTimeout: .milliseconds(500), requestTimeout: .seconds(3))
        configure(&configuration)
        let client = try EtcdClient(configuration: configuration, observer: observer)
        clients.append(client)
        return client
    }

    func testKeyValueOperations() async throws {
        let etcd = try await startEtcd()
        let log = ObserverLog()
        let client = try client(etcd.endpoints, observer: log.observer)

        let empty = try await client.range(.prefix("/bgpmesh/t/"))
        XCTAssertEqual(empty.kvs, [])
        XCTAssertEqual(empty.count, 0)
        XCTAssertGreaterThan(empty.header.clusterID, 0)

        let first = try await client.put("/bgpmesh/t/nodes/a", value: #"{"name":"a"}"#)
        let second = try await client.put("/bgpmesh/t/nodes/a", value: #"{"name":"a","v":2}"#, prevKV: true)
        XCTAssertEqual(second.header.revision, first.header.revision + 1)
        XCTAssertEqual(second.prevKV?.valueString, #"{"name":"a"}"#)
        try await client.put("/bgpmesh/t/nodes/b", value: "")
        try await client.put("/bgpmesh/t0", value: "outside the prefix")

        let all = try await client.range(.prefix("/bgpmesh/t/"))
        XCTAssertEqual(all.kvs.map(\.keyString), ["/bgpmesh/t/nodes/a", "/bgpmesh/t/nodes/b"])
        XCTAssertEqual(all.count, 2)
        XCTAssertEqual(all.kvs[0].version, 2)
        XCTAssertEqual(all.kvs[1].value, [])

        let limited = try await client.range(.prefix("/bgpmesh/t/"), options: EtcdRangeOptions(limit: 1))
        XCTAssertEqual(limited.kvs.count, 1)
        XCTAssertTrue(limited.more)
        XCTAssertEqual(limited.count, 2)
        let keysOnly = try await client.range(.prefix("/bgpmesh/t/"), options: EtcdRangeOptions(keysOnly: true))
        XCTAssertTrue(keysOnly.kvs.allSatisfy(\.value.isEmpty))
        let countOnly = try await client.range(.prefix("/bgpmesh/t/"), options: EtcdRangeOptions(countOnly: true, serializable: true))
        XCTAssertEqual(countOnly.kvs, [])
        XCTAssertEqual(countOnly.count, 2)
        let old = try await client.range(.key("/bgpmesh/t/nodes/a"), options: EtcdRangeOptions(revision: first.header.revision))
        XCTAssertEqual(old.kvs.first?.valueString, #"{"name":"a"}"#)
        let between = try await client.range(.range(from: "/bgpmesh/t/nodes/b", to: "/bgpmesh/t1"))
        XCTAssertEqual(between.kvs.map(\.keyString), ["/bgpmesh/t/nodes/b", "/bgpmesh/t0"])
        let currentA = try await client.get("/bgpmesh/t/nodes/a")?.valueString
        XCTAssertEqual(currentA, #"{"name":"a","v":2}"#)
        let missing = try await client.get("/bgpmesh/t/nodes/zzz")
        XCTAssertNil(missing)

        do {
            _ = try await client.range(.key("/bgpmesh/t/nodes/a"), options: EtcdRangeOptions(revision: 1_000_000))
            XCTFail("a future revision must fail")
        } catch {
            XCTAssertTrue(error.isFutureRevision, "\(error)")
            XCTAssertEqual(error.grpcCode, .outOfRange)
        }

        let deleted = try await client.delete(.prefix("/bgpmesh/t/"), prevKV: true)
        XCTAssertEqual(deleted.deleted, 2)
        XCTAssertEqual(Set(deleted.prevKVs.map(\.keyString)), ["/bgpmesh/t/nodes/a", "/bgpmesh/t/nodes/b"])
        let deletedAgain = try await client.delete(.key("/bgpmesh/t/nodes/a")).deleted
        XCTAssertEqual(deletedAgain, 0)
        let remaining = try await client.range(.prefix("")).kvs.map(\.keyString)
        XCTAssertEqual(remaining, ["/bgpmesh/t0"])

        // One observation per call, named from the bounded set.
        XCTAssertEqual(log.count("range", success: false), 1)
        XCTAssertEqual(log.count("put", success: true), 4)
        XCTAssertEqual(log.count("delete"), 2)
        XCTAssertTrue(Set(log.ops).isSubset(of: Set(EtcdOperation.allCases.map(\.rawValue))))
    }

    func testBinaryValuesPaddingAndReplyLimit() async throws {
        let etcd = try await startEtcd()
        let client = try client(etcd.endpoints)
        // Every base64 padding case, every byte value, and a value larger than one chunk.
        let values: [[UInt8]] = [[], [0], [0, 1], [0, 1, 2], [0, 1, 2, 3], Array(0...255), (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }]
        for (index, value) in values.enumerated() {
            try await client.put("/bin/\(index)", value: value)
            let stored = try await client.get("/bin/\(index)")?.value
            XCTAssertEqual(stored, value, "value \(index)")
        }
        try await client.put("/bgpmesh/ключ/é", value: "ü")
        let unicode = try await client.range(.prefix("/bgpmesh/ключ/")).kvs.first?.valueString
        XCTAssertEqual(unicode, "ü")

        let small = try self.client(etcd.endpoints, configure: { $0.maxResponseBytes = 4096 })
        do {
            _ = try await small.range(.prefix("/bin/"))
            XCTFail("a reply over the limit must fail")
        } catch {
            guard case .tooLarge(let op, _, 4096) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(op, "range")
        }
    }

    func testTransactionsCompareAndSwap() async throws {
        let etcd = try await startEtcd()
        let client = try client(etcd.endpoints)
        let create = EtcdTxn(compare: [.missing("/lock")], success: [.put(key: "/lock", value: Array("a".utf8))],
                             failure: [.range(.key("/lock"))])
        let won = try await client.txn(create)
        XCTAssertTrue(won.succeeded)
        guard case .put = won.responses.first else { return XCTFail("\(won.responses)") }

        let lost = try await client.txn(create)
        XCTAssertFalse(lost.succeeded)
        guard case .range(let current) = lost.responses.first, let holder = current.kvs.first else { return XCTFail("\(lost.responses)") }
        XCTAssertEqual(holder.valueString, "a")

        // Compare-and-swap on the revision read.
        let swap = EtcdTxn(compare: [.modRevision("/lock", equals: holder.modRevision)],
                           success: [.put(key: "/lock", value: Array("b".utf8), prevKV: true), .delete(.key("/other"))])
        let swapped = try await client.txn(swap)
        XCTAssertTrue(swapped.succeeded)
        guard case .put(let put) = swapped.responses[0], case .delete(let delete) = swapped.responses[1] else { return XCTFail("\(swapped)") }
        XCTAssertEqual(put.prevKV?.valueString, "a")
        XCTAssertEqual(delete.deleted, 0)
        let stale = try await client.txn(swap)
        XCTAssertFalse(stale.succeeded)
        XCTAssertEqual(stale.responses, [])

        let checks = try await client.txn(EtcdTxn(compare: [.exists("/lock"), .value("/lock", equals: Array("b".utf8)),
                                                            EtcdCompare(key: "/lock", target: .version(1), op: .greater),
                                                            EtcdCompare(key: "/lock", target: .lease(0))], success: []))
        XCTAssertTrue(checks.succeeded)
    }

    func testLeasesGrantKeepAliveRevoke() async throws {
        let etcd = try await startEtcd()
        let log = ObserverLog()
        let client = try client(etcd.endpoints, observer: log.observer)
        let lease = try await client.leaseGrant(ttl: .seconds(5))
        XCTAssertEqual(lease.ttlSeconds, 5)
        XCTAssertNotEqual(lease.id, 0)
        let fixed = try await client.leaseGrant(ttl: .milliseconds(1), id: 4242)
        XCTAssertEqual(fixed.id, 4242)
        XCTAssertGreaterThanOrEqual(fixed.ttlSeconds, 1)

        try await client.put("/alive/a", value: "1", lease: lease.id)
        let attachedLease = try await client.get("/alive/a")?.lease
        XCTAssertEqual(attachedLease, lease.id)
        let renewed = try await client.leaseKeepAlive(lease.id)
        XCTAssertEqual(renewed.id, lease.id)
        XCTAssertEqual(renewed.ttlSeconds, 5)

        try await client.leaseRevoke(lease.id)
        let gone = try await client.get("/alive/a")
        XCTAssertNil(gone, "revoking the lease deletes its keys")
        do {
            _ = try await client.leaseKeepAlive(lease.id)
            XCTFail("keepalive of a revoked lease must fail")
        } catch {
            XCTAssertEqual(error, .leaseNotFound(id: lease.id))
        }
        do {
            try await client.leaseRevoke(lease.id)
            XCTFail("revoking twice must fail")
        } catch {
            XCTAssertEqual(error, .leaseNotFound(id: lease.id))
        }
        do {
            try await client.put("/alive/b", value: "1", lease: lease.id)
            XCTFail("a put on a revoked lease must fail")
        } catch {
            XCTAssertEqual(error.grpcCode, .notFound, "\(error)")
        }
        XCTAssertEqual(log.count("lease_grant", success: true), 2)
        XCTAssertEqual(log.count("lease_keepalive", success: true), 1)
        XCTAssertEqual(log.count("lease_keepalive", success: false), 1)
        XCTAssertEqual(log.count("lease_revoke"), 2)
    }

    func testWatchDeliversChangesAndResumesAfterRestart() async throws {
        let etcd = try await startEtcd()
        let log = ObserverLog()
        let client = try client(etcd.endpoints, observer: log.observer)
        try await client.put("/w/before", value: "0")

        let watch = WatchRecorder(client.watch(.prefix("/w/"), options: EtcdWatchOptions(prevKV: true)))
        defer { watch.cancel() }
        await watch.wait("the watch is created") { $0.createdCount == 1 }
        try await client.put("/w/a", value: "1")
        try await client.put("/w/a", value: "2")
        try await client.put("/x/outside", value: "no")
        try await client.delete(.key("/w/a"))
        await watch.wait("three events") { $0.events.count == 3 }
        XCTAssertEqual(watch.events.map(\.kind), [.put, .put, .delete])
        XCTAssertEqual(watch.events.map(\.kv.keyString), ["/w/a", "/w/a", "/w/a"])
        XCTAssertEqual(watch.events[1].prevKV?.valueString, "1")
        XCTAssertEqual(watch.events[2].prevKV?.valueString, "2")

        // A restart breaks the stream; the watch reconnects and resumes after the last event.
        etcd.terminate(0)
        try etcd.start(0)
        try await etcd.waitHealthy()
        await watch.wait(seconds: 15, "the watch is created again") { $0.createdCount == 2 }
        try await client.put("/w/b", value: "3")
        await watch.wait("the event after the restart") { $0.events.count == 4 }
        try await Task.sleep(for: .milliseconds(200)) // a quiet window: a repeated event would arrive in it
        XCTAssertEqual(watch.events.map(\.kv.keyString), ["/w/a", "/w/a", "/w/a", "/w/b"], "nothing lost, nothing repeated")
        let revisions = watch.events.map(\.kv.modRevision)
        XCTAssertEqual(revisions, revisions.sorted())
        XCTAssertFalse(watch.finished)
        XCTAssertGreaterThanOrEqual(log.count("watch", success: true), 2)
    }

    func testWatchFromACompactedRevisionAsksForAResync() async throws {
        let etcd = try await startEtcd()
        let client = try client(etcd.endpoints)
        var last: Int64 = 0
        for index in 0..<5 { last = try await client.put("/c/k", value: "\(index)").header.revision }
        try etcd.etcdctl(["compact", String(last), "--physical"])

        do {
            _ = try await client.range(.key("/c/k"), options: EtcdRangeOptions(revision: 2))
            XCTFail("a range below the compacted revision must fail")
        } catch {
            XCTAssertTrue(error.isCompacted, "\(error)")
        }

        let watch = WatchRecorder(client.watch(.prefix("/c/"), options: EtcdWatchOptions(startRevision: 2)))
        await watch.wait("the watch ends with .compacted") { $0.finished }
        XCTAssertEqual(watch.updates.last, .compacted(compactRevision: last))
        XCTAssertNil(watch.anyError)

        // The resync the caller does: read everything, then watch from the revision after.
        let snapshot = try await client.range(.prefix("/c/"))
        XCTAssertEqual(snapshot.kvs.first?.valueString, "4")
        let resumed = WatchRecorder(client.watch(.prefix("/c/"), options: EtcdWatchOptions(startRevision: snapshot.header.revision + 1)))
        defer { resumed.cancel() }
        await resumed.wait("the new watch is created") { $0.createdCount == 1 }
        try await client.put("/c/k", value: "5")
        await resumed.wait("the change after the snapshot") { $0.events.count == 1 }
        XCTAssertEqual(resumed.events.first?.kv.valueString, "5")
    }

    func testWatchStopClosesTheServerStream() async throws {
        let etcd = try await startEtcd()
        let client = try client(etcd.endpoints)
        let watch = WatchRecorder(client.watch(.key("/s")))
        await watch.wait("the watch is created") { $0.createdCount == 1 }
        XCTAssertEqual(try watchStreams(etcd.endpoint(0)), 1)
        watch.cancel()
        let joined = await watch.join()
        XCTAssertTrue(joined, "cancellation ends the watch")
        XCTAssertNil(watch.anyError, "a cancelled watch ends without an error")
        let endpoint = etcd.endpoint(0)
        try waitUntil("etcd closed the watch stream", timeout: .seconds(5), poll: .milliseconds(50)) {
            try watchStreams(endpoint) == 0
        }
    }

    /// `etcd_debugging_mvcc_watch_stream_total` from the member's /metrics, fetched with libcurl.
    private func watchStreams(_ endpoint: String) throws -> Int {
        let easy = try XCTUnwrap(CurlEasy())
        let sink = CurlSink(limit: 8 << 20)
        XCTAssertNil(easy.prepare(CurlRequest(url: endpoint + "/metrics", body: nil, connectTimeout: .seconds(1), totalTimeout: .seconds(3)), sink: sink))
        XCTAssertEqual(try easy.finish(easy.perform()).get(), 200)
        let line = String(decoding: sink.body, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("etcd_debugging_mvcc_watch_stream_total ") }
        return Int(Double(try XCTUnwrap(line).split(separator: " ").last.map(String.init) ?? "") ?? -1)
    }

    func testStatusMemberListHealth() async throws {
        let etcd = try await startEtcd()
        let log = ObserverLog()
        let client = try client(etcd.endpoints, observer: log.observer)
        let status = try await client.status()
        XCTAssertTrue(status.version.hasPrefix("3.4."), status.version)
        XCTAssertTrue(status.isLeader)
        XCTAssertGreaterThan(status.dbSize, 0)
        XCTAssertGreaterThan(status.raftIndex, 0)
        let members = try await client.memberList(endpoint: etcd.endpoint(0))
        XCTAssertEqual(members.members.map(\.name), ["m0"])
        XCTAssertEqual(members.members.first?.clientURLs, [etcd.endpoint(0)])
        XCTAssertEqual(members.members.first?.id, status.header.memberID)
        let health = try await client.health()
        XCTAssertEqual(health, EtcdHealth(healthy: true))
        XCTAssertEqual(log.ops, ["status", "member_list", "health"])
    }

    func testConcurrentCallsShareTheThreads() async throws {
        let etcd = try await startEtcd()
        let client = try client(etcd.endpoints, configure: { $0.threads = 3 })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<60 {
                group.addTask { try await client.put("/p/\(index)", value: "\(index)") }
            }
            try await group.waitForAll()
        }
        let count = try await client.range(.prefix("/p/"), options: EtcdRangeOptions(countOnly: true)).count
        XCTAssertEqual(count, 60)
    }
}

extension RealEtcdTests {
    func testShutdownEndsRunningWatches() async throws {
        let etcd = try await startEtcd()
        let client = try EtcdClient(configuration: .init(endpoints: etcd.endpoints))
        let watch = WatchRecorder(client.watch(.prefix("/z/")))
        await watch.wait("the watch is created") { $0.createdCount == 1 }
        client.shutdown()
        await watch.wait(seconds: 2, "shutdown ends the watch") { $0.finished }
        XCTAssertEqual(watch.error, .shutdown(op: "watch"))
        let late = WatchRecorder(client.watch(.prefix("/z/")))
        await late.wait(seconds: 2, "a watch after shutdown fails") { $0.finished }
        XCTAssertEqual(late.error, .shutdown(op: "watch"))
    }
}
