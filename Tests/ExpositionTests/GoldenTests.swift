import Exposition
import Foundation
import XCTest

/// Compares the encoder's output with Fixtures/. `UPDATE_GOLDEN=1 swift test` rewrites them.
final class GoldenTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func testText004Golden() throws {
        try assertGolden(format: .text004, file: "families.prom")
    }

    func testOpenMetricsGolden() throws {
        try assertGolden(format: .openMetrics100, file: "families.om.txt")
    }

    func testGoldenFamiliesAreValid() {
        // The one deliberate problem: the second repairs family has no HELP (it is merged).
        XCTAssertEqual(ExpositionValidation.problems(GoldenFamilies.all), ["bgpmesh_repairs_total: no HELP text"])
    }

    private func assertGolden(format: ExpositionFormat, file: String) throws {
        let output = ExpositionEncoder.encode(GoldenFamilies.all, format: format)
        let url = Self.fixtures.appendingPathComponent(file)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try Data(output).write(to: url)
            print("UPDATE_GOLDEN: wrote \(url.path)")
            return
        }
        let expected = try Data(contentsOf: url)
        if Data(output) != expected {
            let got = String(decoding: output, as: UTF8.self)
            XCTFail("\(file) differs; rerun with UPDATE_GOLDEN=1 to accept. Output:\n\(got)")
        }
    }
}
