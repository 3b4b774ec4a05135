import XCTest
@testable import MeshAgent

final class ProcFSTests: XCTestCase {
    func testStatOfPid1() throws {
        let stat = try ProcFS.parseStat(Fixture.text("proc/pid-stat"))
        XCTAssertEqual(stat.utimeTicks, 24)
        XCTAssertEqual(stat.stimeTicks, 59)
        XCTAssertEqual(stat.startTimeTicks, 9)
        XCTAssertEqual(stat.virtualMemoryBytes, 37_670_912)
        XCTAssertEqual(stat.residentPages, 2646)
    }

    func testStatWithParenthesesAndSpacesInCommandName() throws {
        // Captured from `/tmp/we ird) (name 5`: the name must not shift the fields.
        let stat = try ProcFS.parseStat(Fixture.text("proc/pid-stat-parens-in-comm"))
        XCTAssertEqual(stat.startTimeTicks, 31698)
        XCTAssertEqual(stat.virtualMemoryBytes, 2_990_080)
        XCTAssertEqual(stat.residentPages, 403)
    }

    func testTruncatedStatIsAnErrorNotACrash() {
        XCTAssertThrowsError(try ProcFS.parseStat("1 (x) S 0 0"))
        XCTAssertThrowsError(try ProcFS.parseStat("garbage without parens"))
        XCTAssertThrowsError(try ProcFS.parseStat(""))
    }

    func testLimits() throws {
        XCTAssertEqual(try ProcFS.parseMaxOpenFiles(Fixture.text("proc/pid-limits")), 20000)
        XCTAssertNil(try ProcFS.parseMaxOpenFiles("Max open files            unlimited            unlimited            files\n"))
        XCTAssertThrowsError(try ProcFS.parseMaxOpenFiles("Max cpu time unlimited unlimited seconds\n"))
    }

    func testBootTime() throws {
        XCTAssertEqual(try ProcFS.parseBootTime(Fixture.text("proc/stat")), 1_796_025_404)
        XCTAssertThrowsError(try ProcFS.parseBootTime("cpu 1 2 3\n"))
    }

    func testProcessCollectorOnTheLiveProcess() async throws {
        let families = try await ProcessCollector().collect()
        let byName = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0) })
        for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                     "process_open_fds", "process_max_fds", "process_start_time_seconds"] {
            XCTAssertNotNil(byName[name], name)
        }
        guard case let .value(rss) = byName["process_resident_memory_bytes"]?.metrics.first?.value,
              case let .value(start) = byName["process_start_time_seconds"]?.metrics.first?.value,
              case let .value(fds) = byName["process_open_fds"]?.metrics.first?.value else {
            return XCTFail("missing values")
        }
        XCTAssertGreaterThan(rss, 1_000_000)
        XCTAssertGreaterThan(fds, 2)
        let now = Date().timeIntervalSince1970
        XCTAssertLessThan(abs(now - start), 3600, "start time should be within the hour of a test run")
    }

    func testProcessCollectorOnMissingProcRootFails() async {
        do {
            _ = try await ProcessCollector(procRoot: "/nonexistent-proc").collect()
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue("\(error)".contains("/nonexistent-proc"), "\(error)")
        }
    }
}
