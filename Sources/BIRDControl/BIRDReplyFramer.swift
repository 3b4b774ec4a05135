#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Incremental framer for the BIRD control-socket protocol: feed it bytes as they arrive,
/// however the reads are split, and take complete replies out.
///
/// Protocol (BIRD 2 `nest/cli.c`, `doc/reply_codes`): every line is `DDDD-text` (more lines
/// follow), `DDDD text` (the final line of the reply), ` text` (a continuation that carries the
/// previous line's code; BIRD writes the code only when it changes), or `+text` (a spontaneous
/// printout, only after `echo`, not part of any reply). A reply is complete at the line whose
/// fifth byte is a space.
public struct BIRDReplyFramer: Sendable {
    /// 256 MiB: far above `show route all` of a full table, low enough to stop a runaway reply.
    public static let defaultLimit = 256 << 20

    public let limit: Int
    private var buffer: [UInt8] = []
    /// Start of the first line not yet validated.
    private var scanned = 0
    /// Lines of the reply being assembled, with offsets into `buffer`.
    private var lines: [BIRDReplyLine] = []

    public init(limit: Int = BIRDReplyFramer.defaultLimit) {
        self.limit = limit
    }

    /// Bytes received but not yet returned in a reply.
    public var bufferedByteCount: Int { buffer.count }

    /// Forgets everything buffered, e.g. after the connection was closed.
    public mutating func reset() {
        buffer = []
        scanned = 0
        lines = []
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete reply, or nil when more bytes are needed.
    public mutating func nextReply() throws(BIRDFramingError) -> BIRDReply? {
        // Work on locals so the closure does not overlap with the access to `buffer`.
        var scanned = self.scanned
        var lines = self.lines
        self.lines = []
        defer {
            self.scanned = scanned
            self.lines = lines
        }
        let result: Result<Int?, BIRDFramingError> = buffer.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return .success(nil) }
            while scanned < buffer.count {
                let remaining = buffer.count - scanned
                guard let hit = memchr(base + scanned, Int32(UInt8.newline), remaining) else { break }
                let lineStart = scanned
                let lineEnd = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                scanned = lineEnd + 1
                let line = ByteSlice(base: base, start: lineStart, end: lineEnd)
                switch line.first {
                case UInt8(ascii: "+"):
                    continue  // spontaneous printout
                case UInt8.space:
                    guard let previous = lines.last else { return .failure(.malformedLine(Self.describe(line))) }
                    lines.append(BIRDReplyLine(code: previous.code, continues: true, textStart: lineStart + 1, textEnd: lineEnd))
                default:
                    guard line.count >= 5, line[0].isDigit, line[1].isDigit, line[2].isDigit, line[3].isDigit,
                          line[4] == UInt8(ascii: "-") || line[4] == .space
                    else { return .failure(.malformedLine(Self.describe(line))) }
                    let code = Int(line[0] &- 48) * 1000 + Int(line[1] &- 48) * 100 + Int(line[2] &- 48) * 10 + Int(line[3] &- 48)
                    let final = line[4] == .space
                    lines.append(BIRDReplyLine(code: code, continues: !final, textStart: lineStart + 5, textEnd: lineEnd))
                    if final { return .success(lineEnd + 1) }
                }
            }
            return .success(nil)
        }
        switch result {
        case .failure(let error):
            throw error
        case .success(nil):
            if buffer.count > limit { throw .tooLarge(limit: limit) }
            return nil
        case .success(let end?):
            if end > limit { throw .tooLarge(limit: limit) }
            let reply = takeReply(end: end, lines: lines)
            scanned = 0
            lines = []
            return reply
        }
    }

    private mutating func takeReply(end: Int, lines: [BIRDReplyLine]) -> BIRDReply {
        let reply: BIRDReply
        if end == buffer.count {
            // The usual case: the reply is the whole buffer, so hand it over without copying.
            reply = BIRDReply(bytes: buffer, lines: lines)
            buffer = []
        } else {
            reply = BIRDReply(bytes: Array(buffer[..<end]), lines: lines)
            buffer.removeSubrange(..<end)
        }
        return reply
    }

    /// The offending line for an error message: at most 200 bytes, invalid UTF-8 repaired.
    private static func describe(_ line: ByteSlice) -> String {
        let shown = line.prefix(200).string
        return line.count > 200 ? shown + "…" : shown
    }
}
