@testable import EtcdClient
import TestSupport
import XCTest

/// `rangeAll` / `rangePages` and large values, against one real etcd 3.4 member on loopback.
extension RealEtcdTests {
    /// A value of `count` bytes that differs per `seed`, so a page boundary mixing values up shows.
    private func value(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    }

    func testEveryKeyOfTheRangeInPagesAtTheRevisionOfTheFirstPage() async throws {
        let etcd = try await startEtcd()
        let client = try client(etcd.endpoints)
        let names = (0..<50).map { String(format: "/bgpmesh/p/nodes/k%02d", $0) }
        for name in names { try await client.put(name, value: "v1 " + name) }
        // Next to the range, never in it.
        try await client.put("/bgpmesh/p/nodes0", value: "outside")
        try await client.put("/bgpmesh/p/alive/k00", value: "outside")
        // A key with a multi-byte character: the next page continues after its bytes.
        try await client.put("/bgpmesh/p/nodes/k25\u{e9}", value: "v1")

        var pageCounts: [Int] = []
        var kvs: [EtcdKeyValue] = []
        var changedBehind = false
        let read = try await client.rangePages(.prefix("/bgpmesh/p/nodes/"), pageSize: 7) { page in
            pageCounts.append(page.count)
            kvs += page
            guard !changedBehind else { return }
            changedBehind = true
            // Between the first page and the next: these changes come after the read's revision.
            _ = try? etcd.etcdctl(["put", "/bgpmesh/p/nodes/k00", "v2"])
            _ = try? etcd.etcdctl(["put", "/bgpmesh/p/nodes/k30", "v2"])
            _ = try? etcd.etcdctl(["del", "/bgpmesh/p/nodes/k49"])
            _ = try? etcd.etcdctl(["put", "/bgpmesh/p/nodes/k45a", "new"])
        }
        XCTAssertEqual(pageCounts, [7, 7, 7, 7, 7, 7, 7, 2])
        XCTAssertEqual(read.pages, 8)
        let now = try await client.range(.prefix("/bgpmesh/p/nodes/"))
        XCTAssertEqual(now.kvs.count, 51, "the changes behind the read happened")
        XCTAssertGreaterThan(now.header.revision, read.revision)

        XCTAssertEqual(kvs.map(\.keyString), Array(names.prefix(26) + ["/bgpmesh/p/nodes/k25\u{e9}"] + names.dropFirst(26)))
        XCTAssertEqual(kvs.first?.valueString, "v1 /bgpmesh/p/nodes/k00")
        XCTAssertEqual(kvs.first { $0.keyString.hasSuffix("k30") }?.valueString, "v1 /bgpmesh/p/nodes/k30", "read at the first page's revision")
        XCTAssertEqual(kvs.last?.keyString, "/bgpmesh/p/nodes/k49")
        XCTAssertFalse(kvs.contains { $0.keyString.hasSuffix("k45a") })

        let again = try await client.rangeAll(.prefix("/bgpmesh/p/nodes/"), pageSize: 7, revision: read.revision)
        XCTAssertEqual(again.revision, read.revision)
        XCTAssertTrue(again.kvs == kvs, "the same keys, values and revisions at the same revision")

        let single = try await client.rangeAll(.prefix("/bgpmesh/p/nodes/"))
        XCTAssertEqual(single.pages, 1)
        XCTAssertEqual(single.kvs.count, 51)
        let empty = try await client.rangeAll(.prefix("/bgpmesh/p/none/"), pageSize: 3)
        XCTAssertEqual(empty.kvs, [])
        XCTAssertEqual(empty.pages, 1)
        XCTAssertEqual(empty.revision, now.header.revision)
        let one = try await client.rangeAll(.key("/bgpmesh/p/nodes/k01"), pageSize: 1)
        XCTAssertEqual(one.kvs.map(\.keyString), ["/bgpmesh/p/nodes/k01"])
        do {
            _ = try await client.rangeAll(.prefix("/bgpmesh/p/"), pageSize: 0)
            XCTFail("a page size of 0 must be refused")
        } catch {
            guard case .invalidArgument = error else { return XCTFail("\(error)") }
        }
    }

    func testAPageTooLargeForTheReplyLimitIsAskedAgainWithFewerKeys() async throws {
        let etcd = try await startEtcd()
        let log = ObserverLog()
        let client = try client(etcd.endpoints, observer: log.observer)
        for index in 0..<12 {
            try await client.put("/bgpmesh/p/nodes/k\(index + 10)", value: value(20_000, seed: index))
        }
        // 20 kB values are 27 kB in the gateway's base64: two fit in 64 KiB, ten do not.
        let all = try await client.rangeAll(.prefix("/bgpmesh/p/nodes/"), pageSize: 10, maxPageBytes: 64 << 10)
        XCTAssertEqual(all.kvs.map(\.keyString), (0..<12).map { "/bgpmesh/p/nodes/k\($0 + 10)" })
        for (index, kv) in all.kvs.enumerated() { XCTAssertEqual(kv.value, value(20_000, seed: index), kv.keyString) }
        XCTAssertGreaterThan(log.count("range", success: false), 0, "some page was too large")
        XCTAssertEqual(log.count("range", success: true), all.pages)

        // One key larger than the limit cannot be paged around: a clear error, not a loop.
        try await client.put("/bgpmesh/p/nodes/k15", value: value(100_000, seed: 99))
        do {
            _ = try await client.rangeAll(.prefix("/bgpmesh/p/nodes/"), pageSize: 10, maxPageBytes: 64 << 10)
            XCTFail("a 100 kB value must not fit a 64 KiB reply")
        } catch {
            guard case .tooLarge(_, _, let limit) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(limit, 64 << 10)
        }
    }

    /// The junk of the acceptance test: 30 values of 1.4 MB. Outside the range they cost
    /// nothing; inside it (a hostile writer) the pages shrink until they fit, and the default
    /// page limit always fits one value as large as etcd accepts, whatever maxResponseBytes is.
    func testLargeValuesOutsideTheRangeCostNothingAndInsideItAreReadInSmallerPages() async throws {
        let etcd = try await startEtcd()
        let log = ObserverLog()
        let small = try client(etcd.endpoints, observer: log.observer) {
            $0.maxResponseBytes = 64 << 10
            $0.requestTimeout = .seconds(20)
        }
        let big = value(1_400_000, seed: 7)
        for index in 0..<30 { try await small.put("/bgpmesh/p/junk/j\(index)", value: big) }
        for index in 0..<3 { try await small.put("/bgpmesh/p/nodes/n\(index)", value: "record \(index)") }
        try await small.put("/bgpmesh/p/nodes/zbig", value: big)

        do {
            _ = try await small.range(.prefix("/bgpmesh/p/nodes/"))
            XCTFail("a 1.4 MB value cannot fit a 64 KiB reply")
        } catch {
            guard case .tooLarge = error else { return XCTFail("\(error)") }
        }
        let before = log.count("range", success: false)
        // The junk is 42 MB; a single 4 MiB page holds the whole range, so none of it was sent.
        let nodes = try await small.rangeAll(.prefix("/bgpmesh/p/nodes/"), maxPageBytes: EtcdClient.minimumPageBytes)
        XCTAssertEqual(nodes.kvs.map(\.keyString), ["/bgpmesh/p/nodes/n0", "/bgpmesh/p/nodes/n1", "/bgpmesh/p/nodes/n2", "/bgpmesh/p/nodes/zbig"])
        XCTAssertEqual(nodes.kvs.last?.value, big)
        XCTAssertEqual(nodes.pages, 1)
        XCTAssertEqual(log.count("range", success: false), before, "no page had to shrink")
        // The default page limit, with maxResponseBytes at 64 KiB, is the same floor.
        let floor = try await small.rangeAll(.prefix("/bgpmesh/p/nodes/"))
        XCTAssertEqual(floor.kvs, nodes.kvs)

        // The junk inside the range, with the client's default limit (32 MiB, 23 of these values).
        for index in 0..<30 { try await small.put("/bgpmesh/p/nodes/j\(index)", value: big) }
        let agentLike = try client(etcd.endpoints, observer: log.observer) { $0.requestTimeout = .seconds(20) }
        let failedBefore = log.count("range", success: false)
        let everything = try await agentLike.rangeAll(.prefix("/bgpmesh/p/nodes/"))
        XCTAssertEqual(everything.kvs.count, 34)
        XCTAssertEqual(everything.kvs.filter { $0.value == big }.count, 31)
        XCTAssertGreaterThan(log.count("range", success: false), failedBefore, "the first page (256 keys, 58 MB) did not fit")
        XCTAssertGreaterThan(everything.pages, 1)
    }

    /// A watch line holds one event with a value as large as etcd accepts, even when
    /// maxResponseBytes is smaller: a 1.4 MB record under the watched prefix does not end it.
    func testAWatchEventWithALargeValueFitsWhateverTheResponseLimit() async throws {
        let etcd = try await startEtcd()
        let client = try client(etcd.endpoints, configure: { $0.maxResponseBytes = 64 << 10 })
        let start = try await client.put("/bgpmesh/p/nodes/a", value: "small")
        let big = value(1_400_000, seed: 3)
        try await client.put("/bgpmesh/p/nodes/big", value: big)
        try await client.put("/bgpmesh/p/nodes/b", value: "after")
        var seen: [String: [UInt8]] = [:]
        for try await update in client.watch(.prefix("/bgpmesh/p/nodes/"), options: EtcdWatchOptions(startRevision: start.header.revision)) {
            guard case .events(let events, _) = update else { continue }
            for event in events { seen[event.kv.keyString] = event.kv.value }
            if seen.count == 3 { break }
        }
        XCTAssertEqual(seen["/bgpmesh/p/nodes/big"], big)
        XCTAssertEqual(seen["/bgpmesh/p/nodes/b"].map { String(decoding: $0, as: UTF8.self) }, "after")
    }

    /// What makes a page shrink: the reply limit here, or a gRPC message limit between the
    /// gateway and etcd (ResourceExhausted), also as the last error of a failover.
    func testWhatCountsAsAPageTooLarge() {
        let tooLarge = EtcdError.tooLarge(op: "range", endpoint: "http://192.0.2.1:2379", limit: 4096)
        let exhausted = EtcdError.server(op: "range", endpoint: "http://192.0.2.1:2379", httpStatus: 429, code: EtcdGRPCCode.resourceExhausted.rawValue,
                                         message: "grpc: received message larger than max (5000000 vs. 4194304)")
        let timeout = EtcdError.timeout(op: "range", endpoint: "http://192.0.2.1:2379", after: .seconds(1))
        XCTAssertTrue(EtcdClient.pageTooLarge(tooLarge))
        XCTAssertTrue(EtcdClient.pageTooLarge(exhausted))
        XCTAssertTrue(EtcdClient.pageTooLarge(.unavailable(op: "range", errors: [timeout, exhausted])))
        XCTAssertFalse(EtcdClient.pageTooLarge(timeout))
        XCTAssertFalse(EtcdClient.pageTooLarge(.unavailable(op: "range", errors: [tooLarge, timeout])))
    }

    /// etcd sends a watch that starts in the past up to 1000 revisions in one reply: a batch
    /// of large values can exceed the client's limit, which ends the stream with `.tooLarge`
    /// (the registry then reads again in pages).
    func testAWatchBatchLargerThanTheLimitEndsTheStream() async throws {
        let etcd = try await startEtcd()
        let client = try client(etcd.endpoints, configure: { $0.maxResponseBytes = 4 << 20 })
        let big = value(1_400_000, seed: 5)
        let first = try await client.put("/bgpmesh/p/nodes/j0", value: big)
        for index in 1..<6 { try await client.put("/bgpmesh/p/nodes/j\(index)", value: big) }
        var delivered = 0
        do {
            for try await update in client.watch(.prefix("/bgpmesh/p/nodes/"), options: EtcdWatchOptions(startRevision: first.header.revision)) {
                if case .events(let events, _) = update { delivered += events.count }
                if delivered == 6 { break }
            }
            XCTFail("six 1.9 MB events in one reply fit a 4 MiB line")
        } catch {
            guard case .tooLarge(let op, _, let limit) = error as? EtcdError else { return XCTFail("\(error)") }
            XCTAssertEqual(op, "watch")
            XCTAssertEqual(limit, 4 << 20)
            XCTAssertEqual(delivered, 0)
        }
    }
}
