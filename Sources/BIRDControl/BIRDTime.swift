#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the time parser needs to turn BIRD's local, sometimes date-less, times into instants.
public struct BIRDTimeContext: Sendable {
    /// The daemon's time zone: BIRD formats with localtime_r(3).
    public var timeZone: TimeZone
    /// Reference instant for times that carry no date (`08:03:59.779`) or no year.
    public var now: Date
    /// A time of day up to this far after `now` still counts as today (clock skew, a reply
    /// formatted just after `now` was taken); later than that it means yesterday.
    public var futureTolerance: TimeInterval

    public init(timeZone: TimeZone = .current, now: Date = Date(), futureTolerance: TimeInterval = 60) {
        self.timeZone = timeZone
        self.now = now
        self.futureTolerance = futureTolerance
    }
}

/// Parses the times BIRD prints for every `timeformat` a user can configure.
///
/// BIRD 2.0.12 (`lib/timer.h`, `nest/config.Y`): the default for protocols and routes is
/// `iso short ms` = `%T.%3f` for times younger than 20 hours and `%F` (date only) for older
/// ones; `iso short`/`iso short us` likewise; `iso long [ms|us]` = `%F %T[.%3f|.%6f]`; and any
/// strftime format, optionally with a second format and a limit in seconds. The format
/// itself is not visible on the socket, so the text is recognised by shape: epoch seconds
/// (`%s`), `HH:MM[:SS[.frac]]`, `YYYY-MM-DD`, `DD.MM.YYYY`, `YYYY/MM/DD`, `MM/DD/YY`,
/// English month names, AM/PM and a `+hhmm` offset. Anything else gives nil.
public enum BIRDTime {
    public static func parse(_ text: String, context: BIRDTimeContext = BIRDTimeContext()) -> Date? {
        var parser = BIRDTimeParser(context: context)
        return parser.parse(text)
    }

    static func parse(_ text: ByteSlice, context: BIRDTimeContext) -> Date? {
        var parser = BIRDTimeParser(context: context)
        return parser.parse(text)
    }

    static func parseUncached(_ text: ByteSlice, zone: inout ZoneCache, context: BIRDTimeContext) -> Date? {
        let text = text.trimmed()
        guard !text.isEmpty, text.count <= 64 else { return nil }
        if let epoch = parseEpoch(text) { return Date(timeIntervalSince1970: epoch) }
        guard var fields = Fields(text) else { return nil }
        return fields.resolve(context: context, zone: &zone)
    }

    /// `%s` (optionally with a fraction): only digits, at least 9 of them before any dot.
    private static func parseEpoch(_ text: ByteSlice) -> Double? {
        var integerDigits = 0, dots = 0
        for i in 0..<text.count {
            let byte = text[i]
            if byte == UInt8(ascii: ".") { dots += 1; continue }
            guard byte.isDigit else { return nil }
            if dots == 0 { integerDigits += 1 }
        }
        guard dots <= 1, integerDigits >= 9, integerDigits <= 12 else { return nil }
        return text.parseDecimal()
    }

    /// Date and time fields recognised in the text.
    private struct Fields {
        var year: Int?, month: Int?, day: Int?
        var hour: Int?, minute = 0, second = 0
        var fraction = 0.0
        var meridiem: UInt8?  // "A" or "P"
        var offset: Int?

        init?(_ text: ByteSlice) {
            let tokens = Tokens(text)
            guard tokens.isValid else { return nil }
            var index = 0
            let list = tokens.list
            func token(_ i: Int) -> Token? { i < list.count ? list[i] : nil }
            func isSeparator(_ i: Int, _ byte: UInt8) -> Bool { token(i)?.kind == .separator(byte) }

            while index < list.count {
                let current = list[index]
                switch current.kind {
                case .number(let value, let digits):
                    if isSeparator(index + 1, .colon) {
                        // HH:MM[:SS[.frac]]
                        guard hour == nil, digits <= 2, case .number(let minutes, 2)? = token(index + 2)?.kind else { return nil }
                        hour = value
                        minute = minutes
                        index += 3
                        if isSeparator(index, .colon), case .number(let seconds, 2)? = token(index + 1)?.kind {
                            second = seconds
                            index += 2
                            if isSeparator(index, UInt8(ascii: ".")) || isSeparator(index, UInt8(ascii: ",")),
                               case .number(let fractionValue, let fractionDigits)? = token(index + 1)?.kind, fractionDigits <= 9 {
                                var scale = 1.0
                                for _ in 0..<fractionDigits { scale *= 10 }
                                fraction = Double(fractionValue) / scale
                                index += 2
                            }
                        }
                        continue
                    }
                    if let separator = token(index + 1)?.separator,
                       separator == UInt8(ascii: "-") || separator == UInt8(ascii: ".") || separator == UInt8(ascii: "/"),
                       case .number(let second, let secondDigits)? = token(index + 2)?.kind, secondDigits <= 2,
                       isSeparator(index + 3, separator),
                       case .number(let third, let thirdDigits)? = token(index + 4)?.kind {
                        guard year == nil, month == nil else { return nil }
                        if digits == 4 && thirdDigits <= 2 {
                            (year, month, day) = (value, second, third)  // %F, %Y/%m/%d, %Y.%m.%d
                        } else if digits <= 2 && (thirdDigits == 4 || thirdDigits == 2) {
                            let fullYear = thirdDigits == 2 ? 2000 + third : third
                            if separator == UInt8(ascii: "/") && value <= 12 {
                                (year, month, day) = (fullYear, value, second)  // %D = %m/%d/%y
                            } else {
                                (year, month, day) = (fullYear, second, value)  // %d.%m.%Y, %d-%m-%Y
                            }
                        } else {
                            return nil
                        }
                        index += 5
                        continue
                    }
                    if digits == 8, year == nil {
                        (year, month, day) = (value / 10000, value / 100 % 100, value % 100)  // %Y%m%d
                    } else if digits == 4, year == nil {
                        year = value
                    } else if digits <= 2, month != nil, day == nil {
                        day = value
                    } else if digits <= 2, day == nil, case .word(let next)? = token(index + 1)?.kind, Self.month(next) != nil {
                        day = value  // day before the month name: 30 Nov
                    } else {
                        return nil
                    }
                    index += 1
                case .word(let word):
                    if let monthNumber = Self.month(word) {
                        guard month == nil else { return nil }
                        month = monthNumber
                    } else if word == Self.word("AM") || word == Self.word("PM") {
                        meridiem = UInt8(truncatingIfNeeded: word >> 8)
                    } else if word == Self.word("UTC") || word == Self.word("GMT") || word == Self.word("Z") {
                        offset = 0
                    }
                    // Weekday names, "T" between date and time and other words carry nothing.
                    index += 1
                case .separator(let byte):
                    if (byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")), hour != nil,
                       case .number(let hhmm, 4)? = token(index + 1)?.kind {
                        let seconds = (hhmm / 100) * 3600 + (hhmm % 100) * 60
                        offset = byte == UInt8(ascii: "-") ? -seconds : seconds
                        index += 2
                        continue
                    }
                    index += 1
                }
            }
            guard hour != nil || day != nil else { return nil }
        }

        mutating func resolve(context: BIRDTimeContext, zone cache: inout ZoneCache) -> Date? {
            if var h = hour {
                if let meridiem {
                    guard (1...12).contains(h) else { return nil }
                    if meridiem == UInt8(ascii: "A") { h = h == 12 ? 0 : h } else { h = h == 12 ? 12 : h + 12 }
                    hour = h
                }
                guard h <= 23, minute <= 59, second <= 60 else { return nil }
            }
            let secondsOfDay = Double((hour ?? 0) * 3600 + minute * 60 + second) + fraction
            let now = context.now.timeIntervalSince1970

            if let month, let day {
                var year = self.year ?? ZoneCache.civil(days: cache.today(context)).year
                guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year) else { return nil }
                var instant = cache.instant(days: ZoneCache.days(year: year, month: month, day: day), seconds: secondsOfDay, offset: offset)
                if self.year == nil, instant > now + context.futureTolerance {
                    // "Nov 30" without a year that lies ahead means last year.
                    year -= 1
                    guard day <= Self.daysIn(month: month, year: year) else { return nil }
                    instant = cache.instant(days: ZoneCache.days(year: year, month: month, day: day), seconds: secondsOfDay, offset: offset)
                }
                return Date(timeIntervalSince1970: instant)
            }
            guard hour != nil, year == nil, month == nil, day == nil else { return nil }
            // Time of day only: today, or yesterday if that would lie in the future.
            let today = offset.map { Int(((now + Double($0)) / 86400).rounded(.down)) } ?? cache.today(context)
            var instant = cache.instant(days: today, seconds: secondsOfDay, offset: offset)
            if instant > now + context.futureTolerance {
                instant = cache.instant(days: today - 1, seconds: secondsOfDay, offset: offset)
            }
            return Date(timeIntervalSince1970: instant)
        }

        static func daysIn(month: Int, year: Int) -> Int {
            switch month {
            case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
            case 4, 6, 9, 11: 30
            default: 31
            }
        }

        /// A word packed into an integer (upper-cased, at most 8 letters) for cheap comparison.
        static func word(_ text: StaticString) -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<min(text.utf8CodeUnitCount, 8) { value = value << 8 | UInt64(text.utf8Start[i]) }
            return value
        }

        static let months: [UInt64] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"].map { name in
            name.utf8.reduce(0) { $0 << 8 | UInt64($1) }
        }

        /// Month number of an English month name or its three-letter abbreviation.
        static func month(_ packed: UInt64) -> Int? {
            // Compare the first three letters only; `packed` holds up to eight.
            var prefix = packed
            while prefix > 0xFF_FFFF { prefix >>= 8 }
            guard let index = months.firstIndex(of: prefix) else { return nil }
            return index + 1
        }
    }

    /// UTC offsets of the daemon's time zone, looked up once per local day: a
    /// `show protocols all` of 1000 sessions would otherwise ask the time zone 3000 times.
    struct ZoneCache {
        let zone: TimeZone
        private var dayOffsets: [Int: Int] = [:]
        private var todayValue: Int?

        init(zone: TimeZone) {
            self.zone = zone
        }

        /// Days since 1970-01-01 of `now`, in the daemon's time zone.
        mutating func today(_ context: BIRDTimeContext) -> Int {
            if let todayValue { return todayValue }
            let now = context.now.timeIntervalSince1970
            let local = now + Double(zone.secondsFromGMT(for: context.now))
            let value = Int((local / 86400).rounded(.down))
            todayValue = value
            return value
        }

        /// Seconds since the epoch of a local date and time of day (or at a fixed UTC offset).
        mutating func instant(days: Int, seconds: Double, offset: Int?) -> Double {
            let local = Double(days) * 86400 + seconds
            if let offset { return local - Double(offset) }
            if let cached = dayOffsets[days] { return local - Double(cached) }
            // One offset for the whole local day unless a transition lies near it.
            let before = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(days - 1) * 86400))
            let after = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(days + 2) * 86400))
            if before == after {
                if dayOffsets.count < 64 { dayOffsets[days] = before }
                return local - Double(before)
            }
            let first = zone.secondsFromGMT(for: Date(timeIntervalSince1970: local))
            let guess = local - Double(first)
            let second = zone.secondsFromGMT(for: Date(timeIntervalSince1970: guess))
            return second == first ? guess : local - Double(second)
        }

        /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
        static func days(year: Int, month: Int, day: Int) -> Int {
            let y = month <= 2 ? year - 1 : year
            let era = (y >= 0 ? y : y - 399) / 400
            let yoe = y - era * 400
            let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
            return era * 146097 + doe - 719468
        }

        static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
            let z = days + 719468
            let era = (z >= 0 ? z : z - 146096) / 146097
            let doe = z - era * 146097
            let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
            let mp = (5 * doy + 2) / 153
            let day = doy - (153 * mp + 2) / 5 + 1
            let month = mp < 10 ? mp + 3 : mp - 9
            return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
        }
    }

    private enum TokenKind: Equatable {
        case number(Int, digits: Int)
        case word(UInt64)
        case separator(UInt8)
    }

    private struct Token {
        var kind: TokenKind
        var separator: UInt8? {
            if case .separator(let byte) = kind { return byte }
            return nil
        }
    }

    /// Numbers, words and single punctuation bytes; blanks only separate.
    private struct Tokens {
        var list: [Token] = []
        var isValid = true

        init(_ text: ByteSlice) {
            list.reserveCapacity(16)
            var i = 0
            while i < text.count {
                let byte = text[i]
                if byte.isBlank {
                    i += 1
                } else if byte.isDigit {
                    var value = 0, digits = 0
                    while i < text.count, text[i].isDigit {
                        if digits < 12 { value = value * 10 + Int(text[i] &- 48) }
                        digits += 1
                        i += 1
                    }
                    guard digits <= 12 else { isValid = false; return }
                    list.append(Token(kind: .number(value, digits: digits)))
                } else if (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") {
                    var packed: UInt64 = 0, letters = 0
                    while i < text.count, (text[i] | 0x20) >= UInt8(ascii: "a"), (text[i] | 0x20) <= UInt8(ascii: "z") {
                        if letters < 8 { packed = packed << 8 | UInt64(text[i] & ~0x20) }
                        letters += 1
                        i += 1
                    }
                    list.append(Token(kind: .word(packed)))
                } else {
                    list.append(Token(kind: .separator(byte)))
                    i += 1
                }
                if list.count > 24 { isValid = false; return }
            }
        }
    }
}

/// Parses many times against one context, remembering the last text (a protocol list repeats
/// the same Since value many times) and the zone's offsets.
struct BIRDTimeParser {
    let context: BIRDTimeContext
    private var zone: BIRDTime.ZoneCache
    private var lastText: [UInt8] = []
    private var lastResult: Date?

    init(context: BIRDTimeContext) {
        self.context = context
        self.zone = BIRDTime.ZoneCache(zone: context.timeZone)
    }

    mutating func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return nil }
            return parse(ByteSlice(base: base, start: 0, end: buffer.count))
        }
    }

    mutating func parse(_ text: ByteSlice) -> Date? {
        if text.count == lastText.count, !lastText.isEmpty,
           lastText.withUnsafeBufferPointer({ memcmp($0.baseAddress!, text.base + text.start, text.count) == 0 }) {
            return lastResult
        }
        let result = BIRDTime.parseUncached(text, zone: &zone, context: context)
        lastText = Array(UnsafeBufferPointer(start: text.base + text.start, count: text.count))
        lastResult = result
        return result
    }
}
