import Dispatch
@testable import EtcdClient
import Synchronization
import TestSupport
import XCTest

/// The pool starts threads only when jobs wait, up to its maximum, and ends the extra ones
/// once they are idle; one thread always stays.
final class CurlWorkerPoolTests: XCTestCase {
    func testThreadsStartWhenJobsWaitAndTheExtraOnesEndWhenIdle() throws {
        let pool = try XCTUnwrap(CurlWorkerPool(threads: 3, name: "pool-test", idleTimeout: .milliseconds(200)))
        defer { pool.shutdown() }
        XCTAssertEqual(pool.runningThreads, 1, "one thread before any job")

        let gate = DispatchSemaphore(value: 0)
        let running = Atomic<Int>(0), done = Atomic<Int>(0), rejected = Atomic<Int>(0)
        for _ in 0..<5 {
            pool.submit(CurlWorkerPool.Job(
                run: { _ in
                    running.add(1, ordering: .relaxed)
                    gate.wait()
                    done.add(1, ordering: .relaxed)
                },
                reject: { rejected.add(1, ordering: .relaxed) }))
        }
        XCTAssertTrue(waitUntil("three jobs run at once") { running.load(ordering: .relaxed) == 3 })
        XCTAssertEqual(pool.runningThreads, 3, "no more threads than the maximum")
        for _ in 0..<5 { gate.signal() }
        XCTAssertTrue(waitUntil("every job ran") { done.load(ordering: .relaxed) == 5 })
        XCTAssertEqual(rejected.load(ordering: .relaxed), 0)
        XCTAssertTrue(waitUntil("the extra threads end when idle") { pool.runningThreads == 1 })

        // The remaining thread still takes jobs, and new ones start again when needed.
        let again = Atomic<Int>(0)
        for _ in 0..<2 {
            pool.submit(CurlWorkerPool.Job(run: { _ in again.add(1, ordering: .relaxed) }, reject: {}))
        }
        XCTAssertTrue(waitUntil("later jobs run") { again.load(ordering: .relaxed) == 2 })
    }

    func testShutdownRejectsQueuedAndLaterJobs() throws {
        let pool = try XCTUnwrap(CurlWorkerPool(threads: 1, name: "pool-test", idleTimeout: .seconds(60)))
        let gate = DispatchSemaphore(value: 0)
        let started = Atomic<Int>(0), rejected = Atomic<Int>(0)
        pool.submit(CurlWorkerPool.Job(run: { _ in started.add(1, ordering: .relaxed); gate.wait() }, reject: {}))
        XCTAssertTrue(waitUntil("the first job runs") { started.load(ordering: .relaxed) == 1 })
        pool.submit(CurlWorkerPool.Job(run: { _ in started.add(1, ordering: .relaxed) }, reject: { rejected.add(1, ordering: .relaxed) }))
        pool.shutdown()
        XCTAssertEqual(rejected.load(ordering: .relaxed), 1, "the queued job is rejected")
        XCTAssertFalse(pool.submit(CurlWorkerPool.Job(run: { _ in }, reject: { rejected.add(1, ordering: .relaxed) })))
        XCTAssertEqual(rejected.load(ordering: .relaxed), 2)
        gate.signal()
        XCTAssertTrue(waitUntil("the thread ends after its job") { pool.runningThreads == 0 })
        XCTAssertEqual(started.load(ordering: .relaxed), 1)
    }
}
