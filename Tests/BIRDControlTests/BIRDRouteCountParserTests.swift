import BIRDControl
import XCTest

final class BIRDRouteCountParserTests: XCTestCase {
    func testShowRouteCount() throws {
        let count = try BIRDRouteCount.parse(Fixture.reply("show-route-count.txt"))
        XCTAssertEqual(count.tables.map(\.table), ["master4", "master6", "v4", "r4", "f4"])
        XCTAssertEqual(count["master4"], BIRDTableRouteCount(table: "master4", shownRoutes: 8, routes: 8, networks: 6))
        XCTAssertEqual(count["master6"], BIRDTableRouteCount(table: "master6", shownRoutes: 7, routes: 7, networks: 4))
        XCTAssertEqual(count.total, BIRDRouteCountTotal(shownRoutes: 18, routes: 18, networks: 13, tables: 5))
        XCTAssertEqual(count.unrecognizedLines, 0)
    }

    func testShowRouteCountTableAll() throws {
        let count = try BIRDRouteCount.parse(Fixture.reply("show-route-count-table-all.txt"))
        XCTAssertEqual(count.tables.map(\.table), ["master4", "master6", "extra4", "r4", "f4", "v4"])
        XCTAssertEqual(count["extra4"], BIRDTableRouteCount(table: "extra4", shownRoutes: 8, routes: 8, networks: 6))
        XCTAssertEqual(count["v4"]?.routes, 1)
        XCTAssertEqual(count.total, BIRDRouteCountTotal(shownRoutes: 26, routes: 26, networks: 19, tables: 6))
    }

    func testSingleTableHasNoTotal() throws {
        let count = try BIRDRouteCount.parse(Fixture.reply("show-route-count-table-extra4.txt"))
        XCTAssertEqual(count.tables, [BIRDTableRouteCount(table: "extra4", shownRoutes: 8, routes: 8, networks: 6)])
        XCTAssertNil(count.total)
    }

    func testUnknownTableIsADaemonError() {
        XCTAssertThrowsError(try BIRDRouteCount.parse(Fixture.reply("show-route-count-table-nosuch.txt"))) { error in
            guard case BIRDParseError.daemon(9001, _) = error else { return XCTFail("\(error)") }
        }
    }

    func testOddLinesAreCounted() throws {
        let text = "1007-3 of 5 routes for 2 networks in table t1\n some other line\n \n0014 Total: nonsense\n"
        let count = try BIRDRouteCount.parse(BIRDReply(parsing: Array(text.utf8)))
        XCTAssertEqual(count.tables, [BIRDTableRouteCount(table: "t1", shownRoutes: 3, routes: 5, networks: 2)])
        XCTAssertNil(count.total)
        XCTAssertEqual(count.unrecognizedLines, 2)
    }
}
