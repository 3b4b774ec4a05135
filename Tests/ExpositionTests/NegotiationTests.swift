import Exposition
import XCTest

final class NegotiationTests: XCTestCase {
    func testAcceptTable() {
        let table: [(String?, ExpositionFormat, String)] = [
            ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
             .openMetrics100, "Prometheus 2.42"),
            ("application/openmetrics-text; version=1.0.0; charset=utf-8", .openMetrics100, "OM with spaces and charset"),
            ("application/openmetrics-text", .openMetrics100, "OM without version"),
            ("Application/OpenMetrics-Text;Version=\"1.0.0\"", .openMetrics100, "case and quoted version"),
            ("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5", .text004, "text ranked higher"),
            ("text/plain;version=0.0.4;q=0,application/openmetrics-text;version=1.0.0;q=0.2", .openMetrics100, "text refused"),
            ("application/openmetrics-text;version=0.0.1,text/plain;q=0.5", .text004, "only OM 0.0.1"),
            ("application/openmetrics-text;version=2.0.0", .text004, "OM 2.0.0 unsupported"),
            ("application/openmetrics-text;version=1.0.0;q=0,*/*", .text004, "OM q=0"),
            ("application/openmetrics-text;version=1.0.0;q=0", .text004, "OM q=0 alone"),
            ("application/openmetrics-text;version=1.0.0;q=abc", .text004, "unparsable q"),
            ("application/openmetrics-text;version=1.0.0;q=0.5,*/*", .text004, "*/* at q=1 outranks"),
            ("*/*", .text004, "curl"),
            ("*/*;q=1,application/openmetrics-text;version=1.0.0", .openMetrics100, "tie: OM more specific than */*"),
            ("text/plain,application/openmetrics-text", .text004, "tie, same specificity: first wins"),
            ("application/openmetrics-text,text/plain", .openMetrics100, "tie, same specificity: first wins (OM)"),
            ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", .text004, "Firefox"),
            ("application/json", .text004, "nothing acceptable"),
            ("", .text004, "empty"),
            (",,;;==\"", .text004, "junk"),
            (nil, .text004, "missing"),
        ]
        for (accept, expected, why) in table {
            XCTAssertEqual(ExpositionFormat.negotiate(accept: accept), expected, why)
        }
    }

    func testContentTypes() {
        XCTAssertEqual(ExpositionFormat.text004.contentType, "text/plain; version=0.0.4; charset=utf-8")
        XCTAssertEqual(ExpositionFormat.openMetrics100.contentType, "application/openmetrics-text; version=1.0.0; charset=utf-8")
    }
}
