#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The plain-value samples of one family that all carry the same label names,
/// kept as one UTF-8 byte buffer instead of one `[Label]` of Strings per sample.
///
/// A collector with tens of thousands of series builds these without a heap
/// allocation per sample, and the encoder writes them from the bytes directly.
/// Encoded, a table gives exactly the bytes its `metrics()` would give.
///
/// A state-set table (`init(labelNames:stateLabel:states:)`) holds one row per
/// entity and stands for one sample per state, as `MetricFamily.stateSet` does:
/// the entity's labels plus `stateLabel`, 1 for its current state and 0 for the others.
public struct SampleTable: Sendable, Equatable {
    /// The label names of every row, in the order the rows give their values.
    public let labelNames: [String]
    /// For a state-set table: the state label, and the states without repeats (first kept).
    public let stateLabel: String?
    public let states: [String]
    /// Label values, row by row, each row's values in `labelNames` order.
    private(set) var bytes: [UInt8] = []
    /// End offset in `bytes` of each value, `labelNames.count` per row.
    private(set) var ends: [UInt32] = []
    /// The sample value of each row; for a state-set table, the index of the current state in `states`, or -1.
    private(set) var values: [Double] = []

    /// `rows` and `bytesPerRow` only reserve room.
    public init(labelNames: [String], reservingRows rows: Int = 0, bytesPerRow: Int = 32) {
        self.init(labelNames: labelNames, stateLabel: nil, states: [], reservingRows: rows, bytesPerRow: bytesPerRow)
    }

    /// A state-set table: each row (added with `appendStates`) is one sample per state.
    public init(labelNames: [String], stateLabel: String, states: [String], reservingRows rows: Int = 0) {
        var seen = Set<String>()
        self.init(labelNames: labelNames, stateLabel: stateLabel, states: states.filter { seen.insert($0).inserted },
                  reservingRows: rows, bytesPerRow: 32)
    }

    private init(labelNames: [String], stateLabel: String?, states: [String], reservingRows rows: Int, bytesPerRow: Int) {
        self.labelNames = labelNames
        self.stateLabel = stateLabel
        self.states = states
        if rows > 0 {
            bytes.reserveCapacity(rows * bytesPerRow)
            ends.reserveCapacity(rows * labelNames.count)
            values.reserveCapacity(rows)
        }
    }

    /// Rows (entities, for a state-set table).
    public var count: Int { values.count }
    /// The number of samples the table stands for.
    public var sampleCount: Int { stateLabel == nil ? values.count : values.count * states.count }
    public var isEmpty: Bool { sampleCount == 0 }

    // One overload per arity keeps a row free of array allocations; the arity must match `labelNames`.

    public mutating func append(_ a: String, value: Double) {
        label(a); finishRow(value, arity: 1)
    }

    public mutating func append(_ a: String, _ b: String, value: Double) {
        label(a); label(b); finishRow(value, arity: 2)
    }

    public mutating func append(_ a: String, _ b: String, _ c: String, value: Double) {
        label(a); label(b); label(c); finishRow(value, arity: 3)
    }

    public mutating func append(_ a: String, _ b: String, _ c: String, _ d: String, value: Double) {
        label(a); label(b); label(c); label(d); finishRow(value, arity: 4)
    }

    public mutating func append(_ a: String, _ b: String, _ c: String, _ d: String, _ e: String, value: Double) {
        label(a); label(b); label(c); label(d); label(e); finishRow(value, arity: 5)
    }

    public mutating func append(_ a: String, _ b: String, _ c: String, _ d: String, _ e: String, _ f: String, value: Double) {
        label(a); label(b); label(c); label(d); label(e); label(f); finishRow(value, arity: 6)
    }

    public mutating func append(_ a: String, _ b: String, _ c: String, _ d: String, _ e: String, _ f: String, _ g: String,
                                value: Double) {
        label(a); label(b); label(c); label(d); label(e); label(f); label(g); finishRow(value, arity: 7)
    }

    /// Any number of labels, for rows built in a loop (one array per row).
    public mutating func append(_ labelValues: [String], value: Double) {
        for v in labelValues { label(v) }
        finishRow(value, arity: labelValues.count)
    }

    /// A row with the label values of row `row` of `other`, which has as many labels, copied as
    /// bytes: for families that repeat one entity's labels (one row each per entity).
    public mutating func append(labelsOf row: Int, in other: SampleTable, value: Double) {
        let width = labelNames.count
        precondition(other.labelNames.count == width && width > 0, "SampleTable: copied row has \(other.labelNames.count) labels for \(width)")
        let start = other.valueRange(row: row, label: 0).lowerBound
        let shift = bytes.count - start
        bytes.append(contentsOf: other.bytes[start..<Int(other.ends[row * width + width - 1])])
        precondition(bytes.count <= Int(UInt32.max), "SampleTable: over 4 GiB of label values")
        for k in 0..<width { ends.append(UInt32(truncatingIfNeeded: Int(other.ends[row * width + k]) + shift)) }
        finishRow(value, arity: width)
    }

    /// One entity of a state-set table; `current` nil or not among the states makes every sample 0.
    public mutating func appendStates(_ a: String, current: String?) {
        label(a); finishStates(current, arity: 1)
    }

    public mutating func appendStates(_ a: String, _ b: String, current: String?) {
        label(a); label(b); finishStates(current, arity: 2)
    }

    public mutating func appendStates(_ a: String, _ b: String, _ c: String, _ d: String, current: String?) {
        label(a); label(b); label(c); label(d); finishStates(current, arity: 4)
    }

    public mutating func appendStates(_ labelValues: [String], current: String?) {
        for v in labelValues { label(v) }
        finishStates(current, arity: labelValues.count)
    }

    private mutating func finishStates(_ current: String?, arity: Int) {
        precondition(stateLabel != nil, "SampleTable: appendStates on a table without a state label")
        precondition(arity == labelNames.count, "SampleTable: \(arity) label values for \(labelNames.count) names \(labelNames)")
        values.append(Double(current.flatMap { states.firstIndex(of: $0) } ?? -1))
    }

    private mutating func label(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: text.utf8)
        }
        precondition(bytes.count <= Int(UInt32.max), "SampleTable: over 4 GiB of label values")
        ends.append(UInt32(truncatingIfNeeded: bytes.count))
    }

    private mutating func finishRow(_ value: Double, arity: Int) {
        // A programming error in the caller, never a consequence of daemon input.
        precondition(stateLabel == nil, "SampleTable: append on a state-set table; use appendStates")
        precondition(arity == labelNames.count, "SampleTable: \(arity) label values for \(labelNames.count) names \(labelNames)")
        values.append(value)
    }

    /// The samples as metrics (label order as given, the state label last), for tests and
    /// for merging with other families.
    public func metrics() -> [Metric] {
        let width = labelNames.count
        var out: [Metric] = []
        out.reserveCapacity(sampleCount)
        for row in 0..<count {
            var labels: [Label] = []
            labels.reserveCapacity(width + 1)
            for k in 0..<width {
                labels.append(Label(labelNames[k], String(decoding: valueBytes(row: row, label: k), as: UTF8.self)))
            }
            if let stateLabel {
                let current = Int(values[row])
                for (i, state) in states.enumerated() {
                    out.append(Metric(labels + [Label(stateLabel, state)], i == current ? 1 : 0))
                }
            } else {
                out.append(Metric(labels, values[row]))
            }
        }
        return out
    }

    /// The same samples in a plain table (one row per sample).
    func expanded() -> SampleTable {
        guard let stateLabel else { return self }
        var plain = SampleTable(labelNames: labelNames + [stateLabel], reservingRows: sampleCount)
        var row = labelNames.map { _ in "" } + [""]
        for entity in 0..<count {
            for k in labelNames.indices { row[k] = String(decoding: valueBytes(row: entity, label: k), as: UTF8.self) }
            let current = Int(values[entity])
            for (i, state) in states.enumerated() {
                row[labelNames.count] = state
                plain.append(row, value: i == current ? 1 : 0)
            }
        }
        return plain
    }

    func valueRange(row: Int, label k: Int) -> Range<Int> {
        let i = row * labelNames.count + k
        let start = i == 0 ? 0 : Int(ends[i - 1])
        return start..<Int(ends[i])
    }

    private func valueBytes(row: Int, label k: Int) -> ArraySlice<UInt8> {
        bytes[valueRange(row: row, label: k)]
    }
}

extension SampleTable {
    var byteCount: Int { bytes.count }

    /// Whether some value holds a byte that label values escape (backslash, double quote, line feed).
    var needsEscaping: Bool {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return false }
            return memchr(base, Int32(UInt8(ascii: "\\")), raw.count) != nil || memchr(base, Int32(UInt8(ascii: "\"")), raw.count) != nil
                || memchr(base, Int32(UInt8(ascii: "\n")), raw.count) != nil
        }
    }

    /// Whether each row's label values, compared label by label in `labelOrder` by bytes (a
    /// prefix first), come after the previous row's: the encoder's order, without repeats.
    /// False when a value holds a NUL byte, which the encoder's sort keys escape.
    func rowsAscend(labelOrder: [Int]) -> Bool {
        guard count > 1 else { return true }
        let width = labelNames.count
        guard width > 0 else { return false }
        return withStorage { bytes, ends, _ in
            guard let base = bytes.baseAddress, memchr(base, 0, bytes.count) == nil else { return false }
            for row in 1..<count {
                var ascends = false
                for k in labelOrder {
                    let i = row * width + k, j = i - width
                    let aStart = j == 0 ? 0 : Int(ends[j - 1]), aLength = Int(ends[j]) - aStart
                    let bStart = Int(ends[i - 1]), bLength = Int(ends[i]) - bStart
                    let shared = min(aLength, bLength)
                    var c = shared > 0 ? memcmp(base + aStart, base + bStart, shared) : 0
                    if c == 0 { c = aLength < bLength ? -1 : (aLength > bLength ? 1 : 0) }
                    if c > 0 { return false }
                    if c < 0 { ascends = true; break }
                }
                if !ascends { return false }
            }
            return true
        }
    }

    /// The raw storage, valid inside `body` only: value bytes, value end offsets, sample values.
    func withStorage<R>(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt32>, UnsafeBufferPointer<Double>) -> R) -> R {
        bytes.withUnsafeBufferPointer { b in
            ends.withUnsafeBufferPointer { e in
                values.withUnsafeBufferPointer { v in body(b, e, v) }
            }
        }
    }
}
