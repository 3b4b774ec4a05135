/// Why a private key could not be loaded or used. Each case names the file or the reason.
public enum TincKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened, examined or read.
    case file(TincFileError)
    /// Not a regular file (a FIFO, a directory, a device).
    case notRegularFile(path: String)
    /// Group or others may read or write the key file.
    case insecureMode(path: String, mode: UInt32)
    /// No usable RSA private key in the text (or an encrypted one, which the agent cannot unlock).
    case invalidPrivateKey(reason: String)
    /// libcrypto refused to sign.
    case signingFailed(reason: String)

    public var description: String {
        switch self {
        case .file(let error):
            "\(error)"
        case .notRegularFile(let path):
            "\(path) is not a regular file"
        case .insecureMode(let path, let mode):
            "\(path) has mode \(String(mode, radix: 8)): group or others may access the private key; chmod 600 it"
        case .invalidPrivateKey(let reason):
            "invalid RSA private key: \(reason)"
        case .signingFailed(let reason):
            "RSA signing failed: \(reason)"
        }
    }
}
