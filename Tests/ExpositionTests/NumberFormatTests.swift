import Exposition
import TestSupport
import XCTest

final class NumberFormatTests: XCTestCase {
    func testSampleValues() {
        let table: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (1, "1"), (-1, "-1"), (3, "3"), (42, "42"),
            (16_658_423_808, "16658423808"), (1e15, "1000000000000000"),
            (9_007_199_254_740_991, "9007199254740991"),
            (9_007_199_254_740_992, "9.007199254740992e+15"), (1e21, "1e+21"), (-1e21, "-1e+21"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.5, "0.5"), (0.25, "0.25"), (-2.5, "-2.5"), (0.1, "0.1"), (0.000123, "0.000123"),
            (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e-05, "1.5e-05"), (Double.leastNonzeroMagnitude, "5e-324"),
            (123456.5, "123456.5"), (1_234_567.5, "1.2345675e+06"), (0.1 + 0.2, "0.30000000000000004"),
            (.nan, "NaN"), (.infinity, "+Inf"), (-.infinity, "-Inf"),
        ]
        for (value, expected) in table {
            XCTAssertEqual(ExpositionEncoder.formatSampleValue(value), expected, "\(value)")
        }
    }

    func testBucketBoundsText004AreGoG() {
        let table: [(Double, String)] = [
            (0, "0"), (0.005, "0.005"), (1, "1"), (10, "10"), (100_000, "100000"), (1e6, "1e+06"),
            (1e-10, "1e-10"), (2.5, "2.5"), (.infinity, "+Inf"),
        ]
        for (value, expected) in table {
            XCTAssertEqual(ExpositionEncoder.formatBucketBound(value, format: .text004), expected, "\(value)")
        }
    }

    func testBucketBoundsOpenMetricsAreCanonical() {
        // The examples of OpenMetrics 1.0, "Considerations: Canonical Numbers".
        let table: [(Double, String)] = [
            (0, "0.0"), (0.001, "0.001"), (0.002, "0.002"), (0.01, "0.01"), (0.1, "0.1"), (0.9, "0.9"),
            (0.95, "0.95"), (0.99, "0.99"), (0.999, "0.999"), (1, "1.0"), (1.7, "1.7"), (10, "10.0"),
            (1e-10, "1e-10"), (1e-09, "1e-09"), (1e-05, "1e-05"), (0.0001, "0.0001"),
            (100_000, "100000.0"), (1e6, "1e+06"), (1e10, "1e+10"), (.infinity, "+Inf"),
        ]
        for (value, expected) in table {
            XCTAssertEqual(ExpositionEncoder.formatBucketBound(value, format: .openMetrics100), expected, "\(value)")
        }
    }

    func testEveryPowerOfTenAndRandomValuesRoundTrip() {
        var generator = SplitMix64(seed: 0x5EED)
        var values: [Double] = (-320...308).map { Double("1e\($0)")! }
        for _ in 0..<20_000 {
            values.append(Double(bitPattern: generator.next()))
            values.append(Double(generator.next() % 10_000_000) / 1000)
        }
        for value in values where value.isFinite {
            let text = ExpositionEncoder.formatSampleValue(value)
            XCTAssertEqual(Double(text), value == 0 ? 0 : value, "\(value) -> \(text)")
            for format in [ExpositionFormat.text004, .openMetrics100] {
                let bound = ExpositionEncoder.formatBucketBound(value, format: format)
                XCTAssertEqual(Double(bound), value == 0 ? 0 : value, "le \(value) -> \(bound)")
            }
        }
    }
}
