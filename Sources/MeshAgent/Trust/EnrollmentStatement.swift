#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TincControl

/// An admin's statement that `name` may join with the key of `fingerprintSHA256`, until
/// `expiresAt` when set, signed with the admin RSA key (RSASSA-PKCS1-v1_5, SHA-256).
/// Encoded as compact JSON with sorted keys; the signature covers a domain line and the JSON
/// of the other fields.
public struct EnrollmentStatement: Sendable, Hashable {
    public static let domain = "bgpmesh enrollment v1\n"
    public static let maxBytes = 16 << 10

    public var name: String
    public var fingerprintSHA256: String
    /// Unix seconds after which the statement no longer admits the name; nil for no expiry.
    public var expiresAt: Int64?
    public var signature: [UInt8]

    public init(name: String, fingerprintSHA256: String, expiresAt: Int64?, signature: [UInt8]) {
        self.name = name
        self.fingerprintSHA256 = fingerprintSHA256
        self.expiresAt = expiresAt
        self.signature = signature
    }

    /// Signs a statement with the admin's private key; refuses a bad name or fingerprint.
    public static func sign(name: String, fingerprintSHA256: String, expiresAt: Int64?,
                            with adminKey: TincRSAPrivateKey) throws(EnrollmentError) -> EnrollmentStatement {
        var statement = EnrollmentStatement(name: name, fingerprintSHA256: fingerprintSHA256, expiresAt: expiresAt, signature: [])
        try statement.checkFields()
        do {
            statement.signature = try adminKey.signature(for: statement.signedBytes)
        } catch {
            throw .signing(error)
        }
        return statement
    }

    /// The bytes the admin signs: the domain line and the fields without the signature.
    public var signedBytes: [UInt8] {
        Array(Self.domain.utf8) + Self.json(Fields(name: name, fingerprintSHA256: fingerprintSHA256, expiresAt: expiresAt, signature: nil))
    }

    /// True when `adminKey` signed exactly these fields.
    public func isSigned(by adminKey: TincRSAPublicKey) -> Bool {
        adminKey.isValidSignature(signature, for: signedBytes)
    }

    public func encoded() -> [UInt8] {
        Self.json(Fields(name: name, fingerprintSHA256: fingerprintSHA256, expiresAt: expiresAt,
                         signature: Data(signature).base64EncodedString()))
    }

    /// Decodes a statement, bounded; the fields are checked, the signature is not (see `isSigned(by:)`).
    public static func decode(_ bytes: [UInt8]) throws(EnrollmentError) -> EnrollmentStatement {
        guard bytes.count <= maxBytes else { throw .malformed("\(bytes.count) bytes, more than \(maxBytes)") }
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(bytes))
        } catch {
            throw .malformed(TincParseError.excerpt("\(error)"))
        }
        guard let text = fields.signature else { throw .malformed("no signature") }
        guard let signature = Data(base64Encoded: text) else { throw .malformed("the signature is not base64") }
        let statement = EnrollmentStatement(name: fields.name, fingerprintSHA256: fields.fingerprintSHA256,
                                            expiresAt: fields.expiresAt, signature: Array(signature))
        try statement.checkFields()
        return statement
    }

    private func checkFields() throws(EnrollmentError) {
        guard TincNodeName.isValid(name) else { throw .malformed("invalid node name \(TincParseError.excerpt(name).debugDescription)") }
        guard Pin.isFingerprint(fingerprintSHA256) else { throw .malformed("the fingerprint must be 64 lowercase hex digits") }
    }

    private static func json(_ fields: Fields) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(fields))) ?? []
    }

    private struct Fields: Codable {
        var name: String
        var fingerprintSHA256: String
        var expiresAt: Int64?
        var signature: String?

        enum CodingKeys: String, CodingKey {
            case name
            case fingerprintSHA256 = "fingerprint_sha256"
            case expiresAt = "expires_at"
            case signature
        }
    }
}

/// As a JSON object inside a signed node record's envelope (the same fields as `encoded()`).
extension EnrollmentStatement: Codable {
    public init(from decoder: any Decoder) throws {
        let fields = try Fields(from: decoder)
        guard let text = fields.signature, let signature = Data(base64Encoded: text) else {
            throw EnrollmentError.malformed("no base64 signature")
        }
        self.init(name: fields.name, fingerprintSHA256: fields.fingerprintSHA256, expiresAt: fields.expiresAt, signature: Array(signature))
        try checkFields()
    }

    public func encode(to encoder: any Encoder) throws {
        try Fields(name: name, fingerprintSHA256: fingerprintSHA256, expiresAt: expiresAt,
                   signature: Data(signature).base64EncodedString()).encode(to: encoder)
    }
}

/// Why an enrollment statement could not be made or read.
public enum EnrollmentError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case signing(TincKeyError)

    public var description: String {
        switch self {
        case .malformed(let reason): "invalid enrollment statement: \(reason)"
        case .signing(let error): "cannot sign the enrollment statement: \(error)"
        }
    }
}
