import BIRDControl
import XCTest

final class BIRDMemoryParserTests: XCTestCase {
    func testShowMemoryInBytes() throws {
        let memory = try BIRDMemory.parse(Fixture.reply("show-memory.txt"))
        XCTAssertEqual(memory.entries.map(\.name), ["Routing tables", "Route attributes", "Protocols", "Current config", "Standby memory", "Total"])
        XCTAssertEqual(memory.unrecognizedLines, 0)
        // 1024-based units with one decimal (BIRD 2.0.12 nest/cmds.c get_size_args).
        XCTAssertEqual(memory["Routing tables"], BIRDMemoryEntry(name: "Routing tables", effectiveBytes: 90214, overheadBytes: 34714))
        XCTAssertEqual(memory["Route attributes"], BIRDMemoryEntry(name: "Route attributes", effectiveBytes: 2718, overheadBytes: 8208))
        XCTAssertEqual(memory["Protocols"], BIRDMemoryEntry(name: "Protocols", effectiveBytes: 134451, overheadBytes: 41267))
        XCTAssertEqual(memory["Current config"], BIRDMemoryEntry(name: "Current config", effectiveBytes: 28774, overheadBytes: 688))
        XCTAssertEqual(memory["Standby memory"], BIRDMemoryEntry(name: "Standby memory", effectiveBytes: 0, overheadBytes: 49152))
        XCTAssertEqual(memory.total, BIRDMemoryEntry(name: "Total", effectiveBytes: 276070, overheadBytes: 139674))
    }

    func testLargerUnitsAndSingleColumn() throws {
        let text = "1018-BIRD memory usage\n Routing tables:    1.5 GB\n Route attributes:  12.3 MB   1.0 TB\n Protocols:  lots\n0000 \n"
        let memory = try BIRDMemory.parse(BIRDReply(parsing: Array(text.utf8)))
        XCTAssertEqual(memory["Routing tables"], BIRDMemoryEntry(name: "Routing tables", effectiveBytes: 1_610_612_736, overheadBytes: nil))
        XCTAssertEqual(memory["Route attributes"], BIRDMemoryEntry(name: "Route attributes", effectiveBytes: 12_897_485, overheadBytes: 1_099_511_627_776))
        XCTAssertEqual(memory.unrecognizedLines, 1)
    }

    func testForeignReplyThrows() {
        XCTAssertThrowsError(try BIRDMemory.parse(Fixture.reply("show-status.txt")))
        XCTAssertThrowsError(try BIRDMemory.parse(Fixture.reply("configure.txt")))
    }
}
