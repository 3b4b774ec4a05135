/// Cuts a streamed reply (watch, lease keepalive) into lines. The gateway ends every message
/// with a newline, but HTTP chunks and reads do not follow message boundaries: a chunk may
/// hold half a line or several, so bytes are buffered until a newline arrives.
struct EtcdLineSplitter {
    struct Overflow: Error, Equatable {
        var limit: Int
    }

    /// A line longer than this (without its newline) throws `Overflow`.
    let maxLineBytes: Int
    private var buffer: [UInt8] = []

    init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// Bytes received after the last newline.
    var pendingBytes: Int { buffer.count }

    /// Appends a chunk and returns the lines it completes, without their newline; empty lines
    /// and a trailing carriage return are dropped.
    mutating func append(_ chunk: some Collection<UInt8>) throws(Overflow) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = chunk.startIndex
        while let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let piece = chunk[start..<newline]
            if buffer.count + piece.count > maxLineBytes { throw Overflow(limit: maxLineBytes) }
            buffer.append(contentsOf: piece)
            if buffer.last == UInt8(ascii: "\r") { buffer.removeLast() }
            if !buffer.isEmpty { lines.append(buffer) }
            buffer.removeAll(keepingCapacity: true)
            start = chunk.index(after: newline)
        }
        let rest = chunk[start...]
        if buffer.count + rest.count > maxLineBytes { throw Overflow(limit: maxLineBytes) }
        buffer.append(contentsOf: rest)
        return lines
    }
}
