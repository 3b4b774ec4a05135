import Glibc
import POSIXSupport

/// `bird.password-file`: the TCP-MD5 password of the generated sessions. The file must be
/// readable by the agent alone (mode 600 or stricter); its text (one trailing newline dropped)
/// must fit BIRD's string syntax and Linux's TCP-MD5 key (80 bytes). The value is never
/// logged: every error names the file and the rule, not the text.
enum BGPPeersPassword {
    /// TCP_MD5SIG_MAXKEYLEN (linux/tcp.h).
    static let maxBytes = 80

    /// The password as a BIRD string literal, ready for `password ...;`.
    static func literal(path: String) throws(BGPPeersError) -> String {
        var bytes: [UInt8]
        do {
            bytes = try RegularFile.read(path, limit: 4096, forbiddenModeBits: 0o077)
        } catch .insecureMode(_, let mode) {
            throw .password(path: path, reason: "mode \(String(mode, radix: 8)) lets group or others read the password; chmod 600 it")
        } catch {
            throw .password(path: path, reason: error.reason)
        }
        defer { for index in bytes.indices { bytes[index] = 0 } }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw .password(path: path, reason: "the file is empty") }
        guard bytes.count <= maxBytes else {
            throw .password(path: path, reason: "the password is longer than \(maxBytes) bytes, the most TCP-MD5 takes")
        }
        guard let text = String(validating: bytes, as: UTF8.self), let literal = BIRDSyntax.stringLiteral(text) else {
            throw .password(path: path, reason: "the password holds a quote, a backslash, a control character or invalid UTF-8, "
                                + "which BIRD's string syntax cannot carry")
        }
        return literal
    }
}

/// Why the peers file could not be made or written. Each case names the file; none carries the password.
public enum BGPPeersError: Error, Sendable, Equatable, CustomStringConvertible {
    case password(path: String, reason: String)
    /// The file is there and is not the agent's.
    case conflict(path: String, reason: String)
    case read(path: String, reason: String)
    case write(path: String, reason: String)
    case ledger(path: String, reason: String)

    public var description: String {
        switch self {
        case .password(let path, let reason): "bird.password-file \(path): \(reason)"
        case .conflict(let path, let reason): "bird.peers-file \(path) is not the agent's (\(reason)); leaving it as it is"
        case .read(let path, let reason): "cannot read bird.peers-file \(path): \(reason)"
        case .write(let path, let reason): "cannot write bird.peers-file \(path): \(reason)"
        case .ledger(let path, let reason): "ledger of the peers file \(path): \(reason)"
        }
    }
}
