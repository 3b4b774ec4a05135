#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TincControl

/// A node's statement that its key `fromKey` is replaced by the key of `toFingerprintSHA256`,
/// signed by the OLD key (RSASSA-PKCS1-v1_5, SHA-256). A record carries its node's last
/// statements (`SignedRecord.rotations`, oldest first): the chain that lets a peer pinned to an
/// older key move its pin to the record's key (docs/rotation.md).
public struct RotationStatement: Sendable, Hashable {
    public static let domain = "bgpmesh key rotation v1\n"
    /// The most statements a record carries: a peer whose pin is older than the eighth-to-last
    /// rotation needs an operator's `trust pin`.
    public static let maxChain = 8

    public var name: String
    /// The old public key, PEM (PKCS#1, as in the record).
    public var fromKey: String
    public var toFingerprintSHA256: String
    /// Unix seconds when the rotation began.
    public var issuedAt: Int64
    public var signature: [UInt8]

    public init(name: String, fromKey: String, toFingerprintSHA256: String, issuedAt: Int64, signature: [UInt8]) {
        self.name = name
        self.fromKey = fromKey
        self.toFingerprintSHA256 = toFingerprintSHA256
        self.issuedAt = issuedAt
        self.signature = signature
    }

    /// Signs a statement with the old private key `from`.
    public static func sign(name: String, from key: TincRSAPrivateKey, toFingerprintSHA256: String,
                            issuedAt: Int64) throws(TincKeyError) -> RotationStatement {
        var statement = RotationStatement(name: name, fromKey: key.publicKey.pem, toFingerprintSHA256: toFingerprintSHA256,
                                          issuedAt: issuedAt, signature: [])
        statement.signature = try key.signature(for: statement.signedBytes)
        return statement
    }

    /// The bytes the old key signs: the domain line and the other fields as sorted-key JSON.
    public var signedBytes: [UInt8] {
        Array(Self.domain.utf8) + Self.json(Fields(name: name, fromKey: fromKey, toFingerprintSHA256: toFingerprintSHA256,
                                                   issuedAt: issuedAt, signature: nil))
    }

    /// The old key, parsed; nil when `fromKey` is not an RSA public key.
    public var fromPublicKey: TincRSAPublicKey? { try? TincRSAPublicKey(pemText: fromKey) }

    /// True when the old key signed exactly these fields.
    public var isValid: Bool {
        guard let key = fromPublicKey else { return false }
        return key.isValidSignature(signature, for: signedBytes)
    }

    /// Why a chain does not lead from a pin to a record's key.
    public enum ChainError: Error, Sendable, Equatable, CustomStringConvertible {
        /// More than `maxChain` statements.
        case tooLong(Int)
        /// No statement starts at the pinned key: the pin is older than the chain (or unrelated).
        case notFromPin
        /// Statement `index` names another node.
        case wrongName(index: Int)
        /// Statement `index` is not signed by its own `fromKey`.
        case badSignature(index: Int)
        /// Statement `index` leads to a key the next statement does not start from.
        case broken(index: Int)
        /// The last statement leads to another key than the record's.
        case notToRecordKey

        public var description: String {
            switch self {
            case .tooLong(let count): "a chain of \(count) rotation statements, more than \(RotationStatement.maxChain)"
            case .notFromPin: "no rotation statement starts at the pinned key"
            case .wrongName(let index): "rotation statement \(index) names another node"
            case .badSignature(let index): "rotation statement \(index) is not signed by the key it replaces"
            case .broken(let index): "rotation statement \(index) leads to a key the next one does not start from"
            case .notToRecordKey: "the last rotation statement does not lead to the record's key"
            }
        }
    }

    /// Checks that `chain` leads `name` from the key of `pinned` to the key of `target`: from the
    /// LAST statement whose old key is the pin (a rollback may return to a key met before), each
    /// statement names `name`, is signed by its old key, and leads to the next one's old key;
    /// the last leads to `target`.
    public static func follow(_ chain: [RotationStatement], name: String, from pinned: String,
                              to target: String) -> Result<Void, ChainError> {
        guard chain.count <= maxChain else { return .failure(.tooLong(chain.count)) }
        let fingerprints = chain.map { $0.fromPublicKey?.fingerprintSHA256 }
        guard let start = fingerprints.lastIndex(of: pinned) else { return .failure(.notFromPin) }
        for index in start..<chain.count {
            let statement = chain[index]
            guard statement.name == name else { return .failure(.wrongName(index: index)) }
            guard statement.isValid else { return .failure(.badSignature(index: index)) }
            if index + 1 < chain.count, fingerprints[index + 1] != statement.toFingerprintSHA256 {
                return .failure(.broken(index: index))
            }
        }
        guard chain.last?.toFingerprintSHA256 == target else { return .failure(.notToRecordKey) }
        return .success(())
    }

    private static func json(_ fields: Fields) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(fields))) ?? []
    }

    struct Fields: Codable {
        var name: String
        var fromKey: String
        var toFingerprintSHA256: String
        var issuedAt: Int64
        var signature: String?

        enum CodingKeys: String, CodingKey {
            case name
            case fromKey = "from_key"
            case toFingerprintSHA256 = "to_fingerprint"
            case issuedAt = "issued_at"
            case signature
        }
    }
}

/// As a JSON object in a signed record's `rotations` array.
extension RotationStatement: Codable {
    public init(from decoder: any Decoder) throws {
        let fields = try Fields(from: decoder)
        guard let text = fields.signature, let signature = Data(base64Encoded: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "rotation statement without a base64 signature"))
        }
        guard Pin.isFingerprint(fields.toFingerprintSHA256) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "to_fingerprint is not 64 lowercase hex digits"))
        }
        self.init(name: fields.name, fromKey: fields.fromKey, toFingerprintSHA256: fields.toFingerprintSHA256,
                  issuedAt: fields.issuedAt, signature: Array(signature))
    }

    public func encode(to encoder: any Encoder) throws {
        try Fields(name: name, fromKey: fromKey, toFingerprintSHA256: toFingerprintSHA256, issuedAt: issuedAt,
                   signature: Data(signature).base64EncodedString()).encode(to: encoder)
    }
}
