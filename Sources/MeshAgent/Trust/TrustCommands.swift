import Glibc
import TincControl

/// What the operator's commands do (`bgpmesh-agent trust list|forget|pin`, `enroll`,
/// `fingerprint`): the executable parses the command line and prints, everything else is here.
public enum TrustCommands {
    /// An operator's fingerprint: 64 hex digits in either case, optionally after `SHA256:`
    /// (either case), as the agent's logs and `openssl ... | sha256sum` show it. Returns the
    /// stored form, lowercase without prefix; anything else is refused, naming what was given.
    public static func fingerprint(fromOperatorText text: String) throws(TrustCommandError) -> String {
        var digits = Substring(text)
        if digits.utf8.count >= 7, digits.prefix(7).lowercased() == "sha256:" { digits = digits.dropFirst(7) }
        let lowered = digits.lowercased()
        guard Pin.isFingerprint(lowered) else { throw .invalidFingerprint(text) }
        return lowered
    }

    /// Refuses a name that is not a tinc node name, before it reaches a file or a statement.
    public static func checkName(_ name: String) throws(TrustCommandError) {
        guard TincNodeName.isValid(name) else { throw .invalidNodeName(name) }
    }
}

/// Why an operator's trust command did nothing. Each case names what was wrong.
public enum TrustCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidFingerprint(String)
    case invalidNodeName(String)
    case noPin(name: String, path: String)
    /// The state directory belongs to another user than the one running the command.
    case notOwner(directory: String, owner: uid_t, ownerName: String?, user: uid_t)
    case pins(PinStoreError)
    case publicKey(path: String, reason: String)
    case adminKey(TincKeyError)
    case enrollment(EnrollmentError)
    case write(TincFileError)

    public var description: String {
        switch self {
        case .invalidFingerprint(let text):
            "invalid fingerprint \(TincParseError.excerpt(text).debugDescription): want the key's SHA-256 as 64 hex digits, "
                + "optionally prefixed SHA256: (`bgpmesh-agent fingerprint HOSTFILE` prints it)"
        case .invalidNodeName(let name):
            "invalid node name \(TincParseError.excerpt(name).debugDescription): a tinc node name is letters, digits and _"
        case .noPin(let name, let path):
            "\(name) has no pin in \(path); nothing changed"
        case .notOwner(let directory, let owner, let ownerName, let user):
            "the state directory \(directory) belongs to uid \(owner)\(ownerName.map { " (\($0))" } ?? "") and this command runs as "
                + "uid \(user): the pin file would change owner and the agent could no longer read it; run the command as the "
                + "agent's user (`sudo -u \(ownerName ?? "#\(owner)") bgpmesh-agent trust ...`)"
        case .pins(.unreadable(.insecureMode(let path, let mode))):
            "pin store: \(path) has mode \(String(mode, radix: 8)), which lets group or others access it; "
                + "check its content, then chmod 600 it"
        case .pins(let error):
            "\(error)"
        case .publicKey(let path, let reason):
            "\(path): \(reason)"
        case .adminKey(let error):
            "admin key: \(error)"
        case .enrollment(let error):
            "\(error)"
        case .write(let error):
            "cannot write the statement: \(error)"
        }
    }
}
