#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Prometheus-style durations: `1h30m`, `10s`, `250ms`, `1.5s`; a bare number means seconds.
public enum DurationSyntax {
    public static func parse(_ text: String) -> Duration? {
        let s = text.trimmingSpaces()
        if s.isEmpty { return nil }
        if let seconds = Double(s), seconds.isFinite, seconds >= 0 { return .milliseconds(Int64((seconds * 1000).rounded())) }
        var total: Double = 0
        var rest = Substring(s)
        let units: [(String, Double)] = [("ms", 0.001), ("us", 0.000001), ("h", 3600), ("m", 60), ("s", 1), ("d", 86400)]
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let n = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.count)
            total += n * factor
        }
        guard total.isFinite, total < 1e9 else { return nil }
        return .nanoseconds(Int64((total * 1e9).rounded()))
    }

    /// `10s`, `1.5s`, `250ms`: the shortest way to say a duration.
    public static func format(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        if ms % 1000 != 0 { return ms < 1000 ? "\(ms)ms" : "\(Double(ms) / 1000)s" }
        return "\(ms / 1000)s"
    }
}
