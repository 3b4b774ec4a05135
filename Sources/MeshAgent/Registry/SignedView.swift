#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TincControl

/// A node's view with its signature, as it travels under `views/<name>`:
/// `{"view": {...}, "signature": "<base64>", "signature_algorithm": "rsa-pkcs1v15-sha256"}`.
/// Signed like node records (`SignedRecord`), by the node's tinc key, over a domain line of its
/// own so that a view's signature never passes for a record's, or the reverse.
public struct SignedView: Codable, Sendable, Equatable {
    public static let domain = "bgpmesh node view v1\n"
    /// Largest value read: a view of 1024 peers is about 80 KiB.
    public static let maxBytes = 128 << 10

    public var view: NodeView
    public var signature: String
    public var signatureAlgorithm: String

    enum CodingKeys: String, CodingKey {
        case view, signature
        case signatureAlgorithm = "signature_algorithm"
    }

    public static func signedBytes(of view: NodeView) -> [UInt8] {
        Array(domain.utf8) + view.encoded()
    }

    public static func sign(_ view: NodeView, with key: TincRSAPrivateKey) throws(TincKeyError) -> SignedView {
        SignedView(view: view, signature: Data(try key.signature(for: signedBytes(of: view))).base64EncodedString(),
                   signatureAlgorithm: SignedRecord.algorithm)
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(self))) ?? []
    }

    /// Decodes and checks the value of `views/<name>` against the key this node trusts for
    /// `name` (from its trusted record); the reason names what was wrong.
    public static func verify(_ bytes: [UInt8], name: String, key: TincRSAPublicKey?, maxPeers: Int) -> Result<NodeView, ViewRefusal> {
        guard bytes.count <= maxBytes else { return .failure(.init("value of \(bytes.count) bytes is larger than \(maxBytes)")) }
        let signed: SignedView
        do {
            signed = try JSONDecoder().decode(SignedView.self, from: Data(bytes))
        } catch {
            return .failure(.init("not a signed view: \(TincParseError.excerpt("\(error)"))"))
        }
        guard signed.view.name == name else {
            return .failure(.init("the view is for \(TincParseError.excerpt(signed.view.name).debugDescription), stored under \(name)"))
        }
        if let problem = signed.view.problem(maxPeers: maxPeers) { return .failure(.init(problem)) }
        guard signed.signatureAlgorithm == SignedRecord.algorithm else {
            return .failure(.init("unsupported signature algorithm \(TincParseError.excerpt(signed.signatureAlgorithm).debugDescription)"))
        }
        guard let signature = Data(base64Encoded: signed.signature) else { return .failure(.init("the signature is not base64")) }
        guard let key else { return .failure(.init("no trusted record for \(name): nothing to verify the view with")) }
        guard key.isValidSignature(Array(signature), for: signedBytes(of: signed.view)) else {
            return .failure(.init("the signature does not verify with \(name)'s trusted key SHA256:\(key.fingerprintSHA256)"))
        }
        return .success(signed.view)
    }
}

/// Why a value under `views/` is not drawn.
public struct ViewRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
