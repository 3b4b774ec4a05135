/// Why a framed reply could not be turned into a model. Parsers are lenient: they skip lines
/// they do not know, so this is only thrown when the reply is not the expected one at all.
public enum BIRDParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reply ended in a run-time (8xxx) or parse-time (9xxx) error.
    case daemon(code: Int, text: String)
    /// The reply lacks what every reply to this command has, e.g. the `1000` version line.
    case unexpectedReply(expected: String, code: Int, text: String)

    public var description: String {
        switch self {
        case .daemon(let code, let text):
            "BIRD replied \(String(format4: code)) \(text)"
        case .unexpectedReply(let expected, let code, let text):
            "unexpected BIRD reply (expected \(expected)): \(String(format4: code)) \(text)"
        }
    }

    static func checkDaemonError(_ reply: BIRDReply) throws(BIRDParseError) {
        if reply.isError { throw .daemon(code: reply.code, text: reply.finalText) }
    }
}

extension String {
    /// A reply code as BIRD prints it: four digits, zero-padded.
    init(format4 code: Int) {
        let digits = String(code)
        self = digits.count >= 4 ? digits : String(repeating: "0", count: 4 - digits.count) + digits
    }
}
