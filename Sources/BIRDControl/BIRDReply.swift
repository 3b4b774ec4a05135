/// One complete reply from the BIRD control socket: the exact bytes and the framed lines.
public struct BIRDReply: Sendable, Equatable {
    /// The reply as received, reply codes and newlines included.
    public let bytes: [UInt8]
    /// Every line of the reply in order, the final line (code followed by a space) last.
    /// Spontaneous `+` lines are not part of a reply and are dropped.
    public let lines: [BIRDReplyLine]

    init(bytes: [UInt8], lines: [BIRDReplyLine]) {
        precondition(!lines.isEmpty, "a reply has at least its final line")
        self.bytes = bytes
        self.lines = lines
    }

    /// Frames exactly one complete reply from `bytes` (a captured fixture, for example).
    /// Bytes after the final line are an error, as is a reply without a final line.
    public init(parsing bytes: [UInt8], limit: Int = BIRDReplyFramer.defaultLimit) throws(BIRDFramingError) {
        var framer = BIRDReplyFramer(limit: limit)
        framer.append(bytes)
        guard let reply = try framer.nextReply() else { throw .incomplete(bufferedBytes: bytes.count) }
        guard framer.bufferedByteCount == 0 else { throw .trailingBytes(count: framer.bufferedByteCount) }
        self = reply
    }

    /// The code of the final line: 0 for `0000`, 13 for the status report, 8007 for access denied.
    public var code: Int { lines[lines.count - 1].code }

    /// The text of the final line, e.g. `Access denied` or `Daemon is up and running`.
    public var finalText: String { text(of: lines[lines.count - 1]) }

    /// True when the final code is a run-time (8xxx) or parse-time (9xxx) error.
    public var isError: Bool { code >= 8000 }

    /// The text of a line (without code, separator or newline).
    public func text(of line: BIRDReplyLine) -> String {
        bytes.withUnsafeBufferPointer { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[line.textStart..<line.textEnd]), as: UTF8.self)
        }
    }

    /// Every line's text; convenient for small replies and logs.
    public var texts: [String] { lines.map { text(of: $0) } }

    /// Runs `body` over the lines as byte slices, without copying.
    func withLines<T, E: Error>(_ body: (UnsafePointer<UInt8>, [BIRDReplyLine]) throws(E) -> T) throws(E) -> T {
        let result: Result<T, E> = bytes.withUnsafeBufferPointer { buffer in
            // A reply always holds at least "0000 \n", so baseAddress is never nil here.
            do throws(E) {
                return .success(try body(buffer.baseAddress!, lines))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// One framed line: its reply code (inherited from the previous line for a continuation that
/// starts with a space) and where its text sits in `BIRDReply.bytes`.
public struct BIRDReplyLine: Sendable, Hashable {
    /// Four-digit reply code as a number (`1002` for a protocol row, `0` for `0000`).
    public let code: Int
    /// True for `DDDD-` and space-continued lines; false only for the final `DDDD ` line.
    public let continues: Bool
    /// Byte offsets of the text in `BIRDReply.bytes`, excluding the newline.
    public let textStart: Int
    public let textEnd: Int
}

/// Why bytes from the socket could not be framed into a reply.
public enum BIRDFramingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A line that is neither `DDDD-text`, `DDDD text`, ` continuation` nor `+spontaneous`.
    case malformedLine(String)
    /// The reply grew past the limit before its final line arrived.
    case tooLarge(limit: Int)
    /// `BIRDReply(parsing:)` only: the bytes end before the final line.
    case incomplete(bufferedBytes: Int)
    /// `BIRDReply(parsing:)` only: bytes follow the final line.
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .malformedLine(let line): "malformed reply line \(line.debugDescription)"
        case .tooLarge(let limit): "reply larger than \(limit) bytes"
        case .incomplete(let count): "reply incomplete after \(count) bytes (no final line)"
        case .trailingBytes(let count): "\(count) bytes after the final line of the reply"
        }
    }
}
