import Glibc

/// Unix seconds to and from the text an operator reads and types: RFC 3339 in UTC.
public enum UnixTimeText {
    /// `2026-12-06T07:17:36Z`.
    public static func rfc3339(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "\(seconds)" }
        func p(_ v: Int32, _ width: Int) -> String { NumberText.padded(Int(v), width: width) }
        return p(parts.tm_year + 1900, 4) + "-" + p(parts.tm_mon + 1, 2) + "-" + p(parts.tm_mday, 2)
            + "T" + p(parts.tm_hour, 2) + ":" + p(parts.tm_min, 2) + ":" + p(parts.tm_sec, 2) + "Z"
    }

    /// Unix seconds (digits only), or an RFC 3339 date-time (section 5.6):
    /// `2027-01-31T12:00:00Z`, `2027-01-31T12:00:00.5+01:00`; a fraction is dropped. Nil for
    /// anything else, an impossible date (February 30) included.
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        if !bytes.isEmpty, bytes.count <= 18, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return Int64(text) }
        // YYYY-MM-DDTHH:MM:SS is 19 bytes; the zone follows, after an optional fraction.
        guard bytes.count >= 20 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int32? {
            var value: Int32 = 0
            for byte in bytes[from..<from + count] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int32(byte - 0x30)
            }
            return value
        }
        let separators: [(Int, [UInt8])] = [(4, [0x2D]), (7, [0x2D]), (10, [0x54, 0x74, 0x20]), (13, [0x3A]), (16, [0x3A])]
        guard separators.allSatisfy({ $0.1.contains(bytes[$0.0]) }),
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var at = 19
        if bytes[at] == 0x2E {  // .fraction
            at += 1
            let digits = bytes[at...].prefix { $0 >= 0x30 && $0 <= 0x39 }.count
            guard digits > 0 else { return nil }
            at += digits
        }
        guard at < bytes.count else { return nil }
        let offset: Int64
        switch bytes[at] {
        case 0x5A, 0x7A:  // Z, z
            guard at + 1 == bytes.count else { return nil }
            offset = 0
        case 0x2B, 0x2D:  // +HH:MM, -HH:MM
            guard at + 6 == bytes.count, bytes[at + 3] == 0x3A,
                  let hours = number(at + 1, 2), let minutes = number(at + 4, 2), hours <= 23, minutes <= 59
            else { return nil }
            offset = (bytes[at] == 0x2B ? 1 : -1) * Int64(hours * 3600 + minutes * 60)
        default:
            return nil
        }
        // A leap second (:60) counts as the last second of its minute.
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = min(second, 59)
        let seconds = Int64(timegm(&parts))
        // timegm normalizes February 30 into March; such a date was not a date.
        guard parts.tm_mday == day, parts.tm_mon == month - 1 else { return nil }
        return seconds - offset
    }
}
