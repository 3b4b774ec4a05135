/// A cumulative histogram as exposed to Prometheus.
public struct HistogramValue: Sendable, Equatable {
    /// Ascending upper bounds with cumulative counts, WITHOUT the `+Inf` bucket:
    /// the encoder writes `+Inf` itself, with `count` as its value.
    public var buckets: [(upperBound: Double, cumulativeCount: UInt64)]
    public var count: UInt64
    public var sum: Double

    public init(buckets: [(upperBound: Double, cumulativeCount: UInt64)], count: UInt64, sum: Double) {
        self.buckets = buckets
        self.count = count
        self.sum = sum
    }

    public static func == (lhs: HistogramValue, rhs: HistogramValue) -> Bool {
        guard lhs.count == rhs.count, lhs.sum == rhs.sum || (lhs.sum.isNaN && rhs.sum.isNaN),
              lhs.buckets.count == rhs.buckets.count else { return false }
        for (l, r) in zip(lhs.buckets, rhs.buckets)
        where l.upperBound != r.upperBound || l.cumulativeCount != r.cumulativeCount {
            return false
        }
        return true
    }
}
