/// Appends bytes into one growing buffer: no per-sample String building and none
/// of Array's per-append uniqueness checks. `finish()` hands the bytes over as an array.
struct ByteWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int
    /// False while writing into memory that someone else owns (see `init(into:)`).
    private(set) var ownsBuffer = true

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    /// Writes into `buffer` (not owned, never freed here) until it is full; then
    /// into a buffer of its own, and `ownsBuffer` turns true.
    init(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        if let start = buffer.baseAddress, buffer.count > 0 {
            base = start
            capacity = buffer.count
            ownsBuffer = false
        } else {
            capacity = 64
            base = .allocate(capacity: capacity)
        }
    }

    deinit {
        if ownsBuffer { base.deallocate() }
    }

    consuming func finish() -> [UInt8] {
        let count = count
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            buffer.baseAddress!.initialize(from: base, count: count)
            initialized = count
        }
    }

    /// The bytes written so far, valid inside `body` only.
    func withBuffer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    mutating func removeAll() {
        count = 0
    }

    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    @inline(never)
    private mutating func grow(to needed: Int) {
        let newCapacity = max(capacity * 2, needed)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        if ownsBuffer { base.deallocate() }
        ownsBuffer = true
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).initialize(from: source, count: bytes.count)
        count += bytes.count
    }

    /// Appends a copy of bytes already written (`start..<start + count`).
    mutating func appendCopy(from start: Int, count length: Int) {
        precondition(start >= 0 && length >= 0 && start + length <= count)
        reserve(length)
        (base + count).initialize(from: base + start, count: length)
        count += length
    }

    @inline(__always)
    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    @inline(__always)
    mutating func append(_ raw: [UInt8]) {
        raw.withUnsafeBufferPointer { append($0) }
    }

    /// Escapes backslash and line feed, and double quote when `quote` is set.
    /// Label values need all three in both formats; HELP needs the quote only in
    /// OpenMetrics (escaped-string in the OpenMetrics 1.0 ABNF), not in 0.0.4.
    mutating func appendEscaped(_ source: UnsafeBufferPointer<UInt8>, quote: Bool) {
        var clean = true
        for byte in source where byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\n") || (quote && byte == UInt8(ascii: "\"")) {
            clean = false
            break
        }
        if clean {
            append(source)
            return
        }
        for byte in source {
            switch byte {
            case UInt8(ascii: "\\"):
                append(UInt8(ascii: "\\"))
                append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\n"):
                append(UInt8(ascii: "\\"))
                append(UInt8(ascii: "n"))
            case UInt8(ascii: "\"") where quote:
                append(UInt8(ascii: "\\"))
                append(UInt8(ascii: "\""))
            default:
                append(byte)
            }
        }
    }

    mutating func appendEscaped(_ text: String, quote: Bool) {
        var text = text
        text.withUTF8 { appendEscaped($0, quote: quote) }
    }

    /// `{<pairs>}` from pre-rendered pairs, with an `le` pair last; nothing when both are absent.
    mutating func appendLabelSet(pairs: UnsafeBufferPointer<UInt8>, le: [UInt8]? = nil) {
        guard !pairs.isEmpty || le != nil else { return }
        append(UInt8(ascii: "{"))
        append(pairs)
        if let le {
            if !pairs.isEmpty { append(UInt8(ascii: ",")) }
            append("le=\"")
            append(le)
            append(UInt8(ascii: "\""))
        }
        append(UInt8(ascii: "}"))
    }

    mutating func append(_ value: UInt64) {
        if value < 10 {
            append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        reserve(20)
        let start = count
        var rest = value
        while rest > 0 {
            base[count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            count += 1
            rest /= 10
        }
        var low = start
        var high = count - 1
        while low < high {
            let byte = base[low]
            base[low] = base[high]
            base[high] = byte
            low += 1
            high -= 1
        }
    }

    mutating func append(_ value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        append(value.magnitude)
    }
}
