import Glibc

/// IMF-fixdate (RFC 9110 §5.6.7) for the Date header, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
struct HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private var cachedSecond: time_t = -1
    private var cachedValue = ""

    /// The current date, formatted at most once per second.
    mutating func now() -> String {
        let second = time(nil)
        if second != cachedSecond {
            cachedSecond = second
            cachedValue = Self.format(second)
        }
        return cachedValue
    }

    static func format(_ seconds: time_t) -> String {
        var time = seconds
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
