import Logging
import Synchronization
import XCTest
@testable import MeshAgent

final class StructuredLogHandlerTests: XCTestCase {
    private func capture(_ format: AgentConfiguration.LogFormat, _ body: (Logger) -> Void) -> String {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "t") { label in
            StructuredLogHandler(label: label, level: .info, format: format) { line in lines.withLock { $0.append(line) } }
        }
        logger[metadataKey: "collector"] = "bird"
        body(logger)
        return lines.withLock { $0.joined() }
    }

    func testLogfmtQuotesWhatNeedsQuoting() {
        let out = capture(.logfmt) { $0.warning("socket closed", metadata: ["path": "/run/bird/bird.ctl", "reply": "say \"hi\"\nnow"]) }
        XCTAssertTrue(out.hasPrefix("ts="), out)
        XCTAssertTrue(out.contains(" level=warning msg=\"socket closed\" collector=bird path=/run/bird/bird.ctl reply=\"say \\\"hi\\\"\\nnow\"\n"), out)
        XCTAssertEqual(out.filter { $0 == "\n" }.count, 1, "one event, one line")
    }

    func testJSONIsValidAndEscaped() throws {
        let out = capture(.json) { $0.error("bad\u{1}byte", metadata: ["k": "tab\there"]) }
        let object = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: String]
        XCTAssertEqual(object?["msg"], "bad\u{1}byte")
        XCTAssertEqual(object?["k"], "tab\there")
        XCTAssertEqual(object?["level"], "error")
        XCTAssertEqual(object?["collector"], "bird")
    }

    func testLevelFilters() {
        let out = capture(.logfmt) { $0.debug("hidden") }
        XCTAssertEqual(out, "")
    }
}
