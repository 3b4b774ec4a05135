import XCTest
@testable import MeshAgent

/// The config file's YAML, read through libyaml's events.
final class YAMLNodeTests: XCTestCase {
    func testMappingsSequencesScalarsAndLines() throws {
        let root = try XCTUnwrap(YAMLNode.compose("# c\nweb:\n  listen-address: [\":1\", '[::1]:2']\nlog.level: \"null\"\nx: ~\n"))
        guard case let .mapping(pairs, line) = root else { return XCTFail("\(root)") }
        XCTAssertEqual(line, 2)
        XCTAssertEqual(pairs.map { $0.key.string }, ["web", "log.level", "x"])
        XCTAssertEqual(pairs.map(\.key.line), [2, 4, 5])
        guard case let .mapping(web, _) = pairs[0].value, case let .sequence(items, _) = web[0].value else { return XCTFail() }
        XCTAssertEqual(items.map(\.string), [":1", "[::1]:2"])
        XCTAssertFalse(pairs[1].value.isNull, "a quoted null is a string")
        XCTAssertEqual(pairs[1].value.string, "null")
        XCTAssertTrue(pairs[2].value.isNull)
    }

    func testEmptyAndCommentOnlyDocumentsAreNil() throws {
        XCTAssertNil(try YAMLNode.compose(""))
        XCTAssertNil(try YAMLNode.compose("# nothing\n\n"))
    }

    func testErrorsCarryTheirLine() {
        XCTAssertThrowsError(try YAMLNode.compose("a: 1\nb: [x\n")) { error in
            XCTAssertNotNil((error as? YAMLNode.SyntaxError)?.line)
        }
        XCTAssertThrowsError(try YAMLNode.compose("a: 1\nb: 2\na: 3\n")) { error in
            XCTAssertEqual(error as? YAMLNode.SyntaxError, YAMLNode.SyntaxError(line: 3, reason: "duplicate key a"))
        }
        XCTAssertThrowsError(try YAMLNode.compose("a: 1\n---\nb: 2\n")) { error in
            XCTAssertEqual((error as? YAMLNode.SyntaxError)?.line, 2)
        }
    }

    func testAliasesAreRefusedByTheConfigReader() {
        XCTAssertThrowsError(try AgentConfiguration.parse(yaml: "log:\n  level: &l debug\n  format: *l\n", path: "a.yml")) { error in
            XCTAssertEqual(error as? ConfigError, .syntax(path: "a.yml", line: 3, reason: "YAML aliases are not supported"))
        }
        XCTAssertThrowsError(try AgentConfiguration.parse(yaml: "log.level:\n", path: "n.yml")) { error in
            XCTAssertEqual("\(error)", "n.yml line 1: invalid value \"\" for log.level: a value is required")
        }
    }

    func testUnreadableAndNonUTF8Files() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("yaml-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let latin1 = dir.appendingPathComponent("latin1.yml")
        try Data([0x6C, 0x6F, 0x67, 0x3A, 0x20, 0xE9, 0x0A]).write(to: latin1)
        XCTAssertThrowsError(try AgentConfiguration.load(file: latin1.path)) { error in
            XCTAssertEqual("\(error)", "cannot read config file \(latin1.path): not UTF-8 text")
        }
        XCTAssertThrowsError(try AgentConfiguration.load(file: dir.path)) { error in
            XCTAssertEqual("\(error)", "cannot read config file \(dir.path): a directory, not a regular file")
        }
    }
}
