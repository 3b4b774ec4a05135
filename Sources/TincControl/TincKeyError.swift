/// Why a private key could not be loaded or used. Each case names the file or the reason.
public enum TincKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key file could not be read, is not a regular file, or group or others may access it.
    case unreadable(TincFileRefusal)
    /// No usable RSA private key in the text (or an encrypted one, which the agent cannot unlock).
    case invalidPrivateKey(reason: String)
    /// libcrypto refused to sign.
    case signingFailed(reason: String)
    /// A key file could not be written.
    case unwritable(path: String, reason: String)
    /// A new key could not be made (bad size, libcrypto failed).
    case generationFailed(reason: String)

    public var description: String {
        switch self {
        case .unreadable(.insecureMode(let path, let mode)):
            "\(path) has mode \(String(mode, radix: 8)): group or others may access the private key; chmod 600 it"
        case .unreadable(let refusal):
            "\(refusal)"
        case .invalidPrivateKey(let reason):
            "invalid RSA private key: \(reason)"
        case .signingFailed(let reason):
            "RSA signing failed: \(reason)"
        case .unwritable(let path, let reason):
            "cannot write the private key \(path): \(reason)"
        case .generationFailed(let reason):
            "RSA key generation failed: \(reason)"
        }
    }
}
