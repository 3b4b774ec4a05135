/// The plain-value samples of one family that all carry the same label names,
/// kept as one UTF-8 byte buffer instead of one `[Label]` of Strings per sample.
///
/// A collector with tens of thousands of series builds these without a heap
/// allocation per sample, and the encoder writes them from the bytes directly.
/// Encoded, a table gives exactly the bytes its `metrics()` would give.
public struct SampleTable: Sendable, Equatable {
    /// The label names of every row, in the order the rows give their values.
    public let labelNames: [String]
    /// Label values, row by row, each row's values in `labelNames` order.
    private(set) var bytes: [UInt8] = []
    /// End offset in `bytes` of each value, `labelNames.count` per row.
    private(set) var ends: [UInt32] = []
    private(set) var values: [Double] = []
    /// Whether some value holds a byte that label values escape (backslash, quote, line feed).
    private(set) var needsEscaping = false

    /// `rows` and `bytesPerRow` only reserve room.
    public init(labelNames: [String], reservingRows rows: Int = 0, bytesPerRow: Int = 32) {
        self.labelNames = labelNames
        if rows > 0 {
            bytes.reserveCapacity(rows * bytesPerRow)
            ends.reserveCapacity(rows * labelNames.count)
            values.reserveCapacity(rows)
        }
    }

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }

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

    private mutating func label(_ text: String) {
        var text = text
        text.withUTF8 { source in
            if !needsEscaping {
                for byte in source where byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\n") {
                    needsEscaping = true
                    break
                }
            }
            bytes.append(contentsOf: source)
        }
        precondition(bytes.count <= Int(UInt32.max), "SampleTable: over 4 GiB of label values")
        ends.append(UInt32(truncatingIfNeeded: bytes.count))
    }

    private mutating func finishRow(_ value: Double, arity: Int) {
        // A programming error in the caller, never a consequence of daemon input.
        precondition(arity == labelNames.count, "SampleTable: \(arity) label values for \(labelNames.count) names \(labelNames)")
        values.append(value)
    }

    /// The rows as metrics (label order as given), for tests and for merging with other families.
    public func metrics() -> [Metric] {
        let width = labelNames.count
        var out: [Metric] = []
        out.reserveCapacity(count)
        for row in 0..<count {
            var labels: [Label] = []
            labels.reserveCapacity(width)
            for k in 0..<width {
                labels.append(Label(labelNames[k], String(decoding: valueBytes(row: row, label: k), as: UTF8.self)))
            }
            out.append(Metric(labels, values[row]))
        }
        return out
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

    /// The raw storage, valid inside `body` only: value bytes, value end offsets, sample values.
    func withStorage<R>(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt32>, UnsafeBufferPointer<Double>) -> R) -> R {
        bytes.withUnsafeBufferPointer { b in
            ends.withUnsafeBufferPointer { e in
                values.withUnsafeBufferPointer { v in body(b, e, v) }
            }
        }
    }
}
