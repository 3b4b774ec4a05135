/// A zlib failure, with the call that failed, its return code and zlib's message.
public enum GzipError: Error, CustomStringConvertible, Equatable {
    case zlib(call: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case let .zlib(call, code, message): "\(call) failed (\(code)): \(message)"
        }
    }
}
