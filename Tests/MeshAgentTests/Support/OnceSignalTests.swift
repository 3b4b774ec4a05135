import XCTest
@testable import MeshAgent

final class OnceSignalTests: XCTestCase {
    func testWaitersResumeWhenItFiresAndLaterWaitsReturnAtOnce() async {
        let signal = OnceSignal()
        XCTAssertFalse(signal.hasFired)
        let waiters = (0..<3).map { _ in Task { await signal.wait(); return true } }
        signal.fire()
        for waiter in waiters {
            let resumed = await waiter.value
            XCTAssertTrue(resumed)
        }
        signal.fire() // a second fire does nothing
        XCTAssertTrue(signal.hasFired)
        await signal.wait()
    }
}
