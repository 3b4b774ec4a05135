import Exposition
import Foundation
import TestSupport
import XCTest

/// Runs Prometheus' own linter on the text 0.0.4 output.
final class PromtoolTests: XCTestCase {
    func testPromtoolAcceptsText004Output() throws {
        let check = try Promtool.check(ExpositionEncoder.encode(GoldenFamilies.all, format: .text004))
        XCTAssertEqual(check.output, "", "promtool check metrics complained")
        XCTAssertEqual(check.status, 0)
    }

    func testPromtoolRejectsBrokenInput() throws {
        // Guards the test above against a promtool that accepts anything.
        let check = try Promtool.check(Array("# TYPE requests counter\nrequests 1\n".utf8))
        XCTAssertNotEqual(check.status, 0, check.output)
    }
}
