import Synchronization

/// Thread-safe histogram accumulator for samplers (bucket bounds fixed at init).
///
/// Bounds are sorted and de-duplicated; NaN and infinite bounds are dropped (the
/// encoder adds `+Inf`). An observation lands in the first bucket whose bound is
/// >= the value (Prometheus `le` semantics). NaN observations are ignored, since
/// one would turn the sum into NaN for the life of the process. Counts wrap on
/// overflow instead of trapping.
public final class HistogramAccumulator: Sendable {
    public let bounds: [Double]
    private let state: Mutex<State>

    private struct State {
        var bucketCounts: [UInt64]
        var count: UInt64 = 0
        var sum: Double = 0
    }

    public init(bounds: [Double]) {
        var unique: [Double] = []
        for bound in bounds.filter(\.isFinite).sorted() where unique.last != bound {
            unique.append(bound)
        }
        self.bounds = unique
        state = Mutex(State(bucketCounts: Array(repeating: 0, count: unique.count)))
    }

    public func observe(_ value: Double) {
        guard !value.isNaN else { return }
        var low = 0
        var high = bounds.count
        while low < high {
            let mid = (low + high) / 2
            if bounds[mid] < value { low = mid + 1 } else { high = mid }
        }
        let bucket = low
        state.withLock { state in
            if bucket < state.bucketCounts.count {
                state.bucketCounts[bucket] &+= 1
            }
            state.count &+= 1
            state.sum += value
        }
    }

    public func snapshot() -> HistogramValue {
        let (counts, count, sum) = state.withLock { ($0.bucketCounts, $0.count, $0.sum) }
        var buckets: [(upperBound: Double, cumulativeCount: UInt64)] = []
        buckets.reserveCapacity(bounds.count)
        var running: UInt64 = 0
        for (bound, n) in zip(bounds, counts) {
            running &+= n
            buckets.append((bound, running))
        }
        return HistogramValue(buckets: buckets, count: count, sum: sum)
    }
}
