#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TincControl

/// A node record with its signature, as it travels under `nodes/<name>`: the record's own
/// fields plus `signature` (base64) and `signature_algorithm`. An agent of an older build reads
/// the same value as a plain `NodeRecord` (JSON decoding ignores the two extra keys), so the
/// envelope lives here and `NodeRecord` keeps its fields.
public struct SignedRecord: Sendable, Hashable {
    /// The only algorithm: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2) by the record's tinc key.
    public static let algorithm = "rsa-pkcs1v15-sha256"
    /// Largest value decoded; a 16384-bit key and its signature fit many times over.
    public static let maxBytes = 64 << 10

    public var record: NodeRecord
    public var signature: [UInt8]
    /// The admin's enrollment statement for this node (`registry.enrollment-file`); it carries
    /// its own signature, so the node's signature does not cover it.
    public var enrollment: EnrollmentStatement?
    /// The node's last key rotations, oldest first (at most `RotationStatement.maxChain`); each
    /// is signed by the key it replaces, so the node's signature does not cover them.
    public var rotations: [RotationStatement]

    public init(record: NodeRecord, signature: [UInt8], enrollment: EnrollmentStatement? = nil, rotations: [RotationStatement] = []) {
        self.record = record
        self.signature = signature
        self.enrollment = enrollment
        self.rotations = rotations
    }

    /// Signs `record` with the node's own private key.
    public static func sign(_ record: NodeRecord, with key: TincRSAPrivateKey, enrollment: EnrollmentStatement? = nil,
                            rotations: [RotationStatement] = []) throws(TincKeyError) -> SignedRecord {
        SignedRecord(record: record, signature: try key.signature(for: CanonicalRecord.bytes(of: record)), enrollment: enrollment,
                     rotations: rotations)
    }

    /// The value to put: compact JSON, sorted keys.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, integers and arrays of them: encoding cannot fail.
        return (try? Array(encoder.encode(self))) ?? []
    }

    /// Decodes a value from etcd, bounded; a value without a signature is `.unsigned`.
    public static func decode(_ bytes: [UInt8]) throws(SignedRecordError) -> SignedRecord {
        guard bytes.count <= maxBytes else { throw .tooLarge(bytes.count) }
        do {
            return try JSONDecoder().decode(SignedRecord.self, from: Data(bytes))
        } catch let error as SignedRecordError {
            throw error
        } catch {
            throw .malformed("\(error)")
        }
    }
}

/// Why a value is not a signed record.
public enum SignedRecordError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(Int)
    case malformed(String)
    case unsigned
    case unsupportedAlgorithm(String)
    case badBase64

    public var description: String {
        switch self {
        case .tooLarge(let count): "signed record of \(count) bytes is larger than \(SignedRecord.maxBytes)"
        case .malformed(let reason): "not a node record: \(TincParseError.excerpt(reason))"
        case .unsigned: "the record carries no signature"
        case .unsupportedAlgorithm(let name): "unsupported signature algorithm \(TincParseError.excerpt(name).debugDescription)"
        case .badBase64: "the signature is not base64"
        }
    }
}

extension SignedRecord: Codable {
    enum CodingKeys: String, CodingKey {
        case signature
        case signatureAlgorithm = "signature_algorithm"
        case enrollment
        case rotations
    }

    public init(from decoder: any Decoder) throws {
        record = try NodeRecord(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let text = try container.decodeIfPresent(String.self, forKey: .signature) else { throw SignedRecordError.unsigned }
        let algorithm = try container.decodeIfPresent(String.self, forKey: .signatureAlgorithm) ?? ""
        guard algorithm == Self.algorithm else { throw SignedRecordError.unsupportedAlgorithm(algorithm) }
        guard let bytes = Data(base64Encoded: text) else { throw SignedRecordError.badBase64 }
        signature = Array(bytes)
        enrollment = try container.decodeIfPresent(EnrollmentStatement.self, forKey: .enrollment)
        // Absent in records of builds before key rotation.
        rotations = try container.decodeIfPresent([RotationStatement].self, forKey: .rotations) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Data(signature).base64EncodedString(), forKey: .signature)
        try container.encode(Self.algorithm, forKey: .signatureAlgorithm)
        try container.encodeIfPresent(enrollment, forKey: .enrollment)
        if !rotations.isEmpty { try container.encode(rotations, forKey: .rotations) }
    }
}
