@testable import MeshAgent
import Synchronization
import XCTest

final class AlertKeyMemoryTests: XCTestCase {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        let start = ContinuousClock.now
        let offset = Mutex(Duration.zero)
        var now: ContinuousClock.Instant { start + offset.withLock { $0 } }
        func advance(_ d: Duration) { offset.withLock { $0 += d } }
    }

    func testSecondInsertIsADuplicateUntilTheKeyExpires() {
        let clock = ManualClock()
        let memory = AlertKeyMemory(capacity: 10, lifetime: .seconds(60), now: { clock.now })
        XCTAssertTrue(memory.insert("a"))
        XCTAssertFalse(memory.insert("a"))
        XCTAssertTrue(memory.insert("b"))
        clock.advance(.seconds(59))
        XCTAssertFalse(memory.insert("a"))
        clock.advance(.seconds(1))
        XCTAssertFalse(memory.contains("a"), "expired at exactly its lifetime")
        XCTAssertEqual(memory.count, 0)
        XCTAssertTrue(memory.insert("a"))
    }

    func testCapacityForgetsTheOldest() {
        let clock = ManualClock()
        let memory = AlertKeyMemory(capacity: 3, lifetime: .seconds(60), now: { clock.now })
        for key in ["a", "b", "c", "d"] { XCTAssertTrue(memory.insert(key)) }
        XCTAssertEqual(memory.count, 3)
        XCTAssertFalse(memory.contains("a"))
        XCTAssertTrue(memory.contains("b"))
        XCTAssertFalse(memory.insert("d"))
    }

    /// Many keys through a small memory: it stays bounded and answers right throughout.
    func testStaysBoundedUnderChurn() {
        let clock = ManualClock()
        let memory = AlertKeyMemory(capacity: 100, lifetime: .seconds(10), now: { clock.now })
        for i in 0..<10_000 {
            XCTAssertTrue(memory.insert("k\(i)"))
            XCTAssertFalse(memory.insert("k\(i)"))
            if i >= 100 { XCTAssertFalse(memory.contains("k\(i - 100)")) }
            if i % 7 == 0 { clock.advance(.milliseconds(50)) }
        }
        XCTAssertLessThanOrEqual(memory.count, 100)
    }

    /// Two HA peers deliver at the same moment: exactly one insert wins.
    func testConcurrentInsertsOfOneKeyHaveOneWinner() async {
        let memory = AlertKeyMemory()
        let wins = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<64 { group.addTask { memory.insert("same") } }
            var wins = 0
            for await won in group where won { wins += 1 }
            return wins
        }
        XCTAssertEqual(wins, 1)
    }
}
