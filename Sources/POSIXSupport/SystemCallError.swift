/// A system call failed: its name and the errno it set.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    public let call: String
    public let code: Int32

    public init(call: String, code: Int32) {
        self.call = call
        self.code = code
    }

    /// `Broken pipe (write, errno 32)`.
    public var description: String { Syscall.errorText(code, call: call) }
}
