@testable import MeshAgent
import XCTest

/// The times `enroll --expires-at` takes and the trust commands print.
final class UnixTimeTextTests: XCTestCase {
    func testParsesUnixSecondsAndRFC3339() {
        let cases: [(String, Int64)] = [
            ("1893456000", 1_893_456_000),
            ("0", 0),
            ("2030-01-01T00:00:00Z", 1_893_456_000),
            ("2030-01-01t00:00:00z", 1_893_456_000),
            ("2030-01-01 00:00:00Z", 1_893_456_000),
            ("2029-12-31T19:00:00-05:00", 1_893_456_000),
            ("2030-01-01T05:30:00+05:30", 1_893_456_000),
            ("2030-01-01T00:00:00.999Z", 1_893_456_000),
            ("2028-02-29T00:00:00Z", 1_835_395_200),
            // A leap second is the last second of its minute.
            ("2016-12-31T23:59:60Z", 1_483_228_799),
        ]
        for (text, seconds) in cases { XCTAssertEqual(UnixTimeText.parse(text), seconds, text) }
    }

    func testRefusesAnythingElse() {
        for text in ["", "-5", "1e9", "12345678901234567890", "2030-01-01", "2030-01-01T00:00:00", "2030-01-01T00:00Z",
                     "2030-02-30T00:00:00Z", "2029-02-29T00:00:00Z", "2030-13-01T00:00:00Z", "2030-00-01T00:00:00Z",
                     "2030-01-01T24:00:00Z", "2030-01-01T00:60:00Z", "2030-01-01T00:00:00+0100", "2030-01-01T00:00:00.Z",
                     "2030-01-01T00:00:00Z ", "2030-01-01T00:00:00+01:00x", "2030-01-01T00:00:00+24:00", "2030/01/01T00:00:00Z"] {
            XCTAssertNil(UnixTimeText.parse(text), text)
        }
    }

    func testFormatsUTC() {
        XCTAssertEqual(UnixTimeText.rfc3339(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(UnixTimeText.rfc3339(1_893_456_000), "2030-01-01T00:00:00Z")
        XCTAssertEqual(UnixTimeText.rfc3339(1_835_395_199), "2028-02-28T23:59:59Z")
        for seconds: Int64 in [0, 1_483_228_799, 1_893_456_000, 4_102_444_800] {
            XCTAssertEqual(UnixTimeText.parse(UnixTimeText.rfc3339(seconds)), seconds)
        }
    }
}
