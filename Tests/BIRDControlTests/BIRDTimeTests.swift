import BIRDControl
import XCTest

final class BIRDTimeTests: XCTestCase {
    private let context = Fixture.context

    func testDefaultFormatTimeOfDayIsToday() {
        XCTAssertDate(BIRDTime.parse("08:03:59.779", context: context), Fixture.date("2026-11-30 08:03:59.779"))
        XCTAssertDate(BIRDTime.parse("08:03:59", context: context), Fixture.date("2026-11-30 08:03:59"))
        XCTAssertDate(BIRDTime.parse("08:03:59.779982", context: context), Fixture.date("2026-11-30 08:03:59.779982"), accuracy: 0.000002)
    }

    func testTimeOfDayInTheFutureMeansYesterday() {
        let early = BIRDTimeContext(timeZone: Fixture.utc, now: Fixture.date("2026-11-30 07:00:00"))
        XCTAssertDate(BIRDTime.parse("08:03:59.779", context: early), Fixture.date("2026-11-29 08:03:59.779"))
        // Within the tolerance (clock skew, the reply formatted just after "now") it stays today.
        let skew = BIRDTimeContext(timeZone: Fixture.utc, now: Fixture.date("2026-11-30 08:03:30"))
        XCTAssertDate(BIRDTime.parse("08:03:59", context: skew), Fixture.date("2026-11-30 08:03:59"))
        // Across a year boundary.
        let newYear = BIRDTimeContext(timeZone: Fixture.utc, now: Fixture.date("2027-01-01 00:10:00"))
        XCTAssertDate(BIRDTime.parse("23:59:00", context: newYear), Fixture.date("2026-12-31 23:59:00"))
    }

    func testDateOnlyIsLocalMidnight() {
        XCTAssertDate(BIRDTime.parse("2026-11-30", context: context), Fixture.date("2026-11-30 00:00:00"))
        let prague = TimeZone(identifier: "Europe/Prague")!
        XCTAssertDate(BIRDTime.parse("2026-11-30", context: BIRDTimeContext(timeZone: prague, now: Fixture.now)),
                      Fixture.date("2026-11-29 23:00:00"))
    }

    func testISOLongFormats() {
        XCTAssertDate(BIRDTime.parse("2026-11-30 08:03:59", context: context), Fixture.date("2026-11-30 08:03:59"))
        XCTAssertDate(BIRDTime.parse("2026-11-30 08:03:59.779", context: context), Fixture.date("2026-11-30 08:03:59.779"))
        XCTAssertDate(BIRDTime.parse("2026-11-30 08:03:59.779980", context: context), Fixture.date("2026-11-30 08:03:59.77998"), accuracy: 0.000002)
        XCTAssertDate(BIRDTime.parse("2026-11-30T08:03:59+0100", context: context), Fixture.date("2026-11-30 07:03:59"))
    }

    func testEpochSeconds() {
        XCTAssertDate(BIRDTime.parse("1796025839", context: context), Fixture.date("2026-11-30 08:03:59"))
        XCTAssertDate(BIRDTime.parse("1796025839.779", context: context), Fixture.date("2026-11-30 08:03:59.779"))
    }

    func testStrftimeFormats() {
        XCTAssertDate(BIRDTime.parse("30.11.2026 08:04", context: context), Fixture.date("2026-11-30 08:04:00"))  // %d.%m.%Y %H:%M
        XCTAssertDate(BIRDTime.parse("Mon Nov 30 08:03:59 2026", context: context), Fixture.date("2026-11-30 08:03:59"))  // %c
        XCTAssertDate(BIRDTime.parse("Nov 30 08:03", context: context), Fixture.date("2026-11-30 08:03:00"))  // %b %d %H:%M
        XCTAssertDate(BIRDTime.parse("Dec  1 08:03", context: context), Fixture.date("2025-12-01 08:03:00"))  // no year, ahead: last year
        XCTAssertDate(BIRDTime.parse("11/30/26", context: context), Fixture.date("2026-11-30 00:00:00"))  // %D
        XCTAssertDate(BIRDTime.parse("2026/11/30 08:03", context: context), Fixture.date("2026-11-30 08:03:00"))
        XCTAssertDate(BIRDTime.parse("20261130", context: context), Fixture.date("2026-11-30 00:00:00"))  // %Y%m%d
        XCTAssertDate(BIRDTime.parse("08:03 AM", context: context), Fixture.date("2026-11-30 08:03:00"))
        XCTAssertDate(BIRDTime.parse("30 November 2026, 12:03 AM", context: context), Fixture.date("2026-11-30 00:03:00"))
    }

    func testLocalTimeZonesAndDaylightSaving() {
        let prague = BIRDTimeContext(timeZone: TimeZone(identifier: "Europe/Prague")!, now: Fixture.now)
        XCTAssertDate(BIRDTime.parse("08:03:59", context: prague), Fixture.date("2026-11-30 07:03:59"))
        let newYork = BIRDTimeContext(timeZone: TimeZone(identifier: "America/New_York")!, now: Fixture.now)
        XCTAssertDate(BIRDTime.parse("2026-03-08 01:30:00", context: newYork), Fixture.date("2026-03-08 06:30:00"))  // EST
        XCTAssertDate(BIRDTime.parse("2026-03-08 03:30:00", context: newYork), Fixture.date("2026-03-08 07:30:00"))  // EDT
        XCTAssertDate(BIRDTime.parse("2026-07-01 12:00:00", context: newYork), Fixture.date("2026-07-01 16:00:00"))
        XCTAssertDate(BIRDTime.parse("2026-11-30 08:00:00", context: newYork), Fixture.date("2026-11-30 13:00:00"))
    }

    func testUnparseableTimesAreNil() {
        for text in ["", "   ", "<error>", "garbage", "99:99", "25:00:00", "2026-13-01", "31.02.2026", "12:3", "1.2.3.4.5",
                     "2026-11-30 2026-11-30", "123456789012345678901234567890", "::::", "-", "1 2 3 4 5 6 7 8 9"] {
            XCTAssertNil(BIRDTime.parse(text, context: context), text)
        }
    }
}
