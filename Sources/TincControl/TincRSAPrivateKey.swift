import COpenSSL

/// A node's RSA private key, as tincd 1.0 writes it to `rsa_key.priv` (`tincd -K`: PKCS#1
/// `-----BEGIN RSA PRIVATE KEY-----`); PKCS#8 `-----BEGIN PRIVATE KEY-----` is read too.
/// Encrypted keys are refused: the agent has no passphrase to give.
public struct TincRSAPrivateKey: Sendable {
    /// Largest key file read: a 16384-bit PKCS#1 key in PEM is about 12 KiB.
    public static let maxFileBytes = 64 << 10

    let key: EVPKey
    /// The matching public key (what the node's host file carries).
    public let publicKey: TincRSAPublicKey

    /// Parses the first private key block of `text`.
    public init(pemText text: String) throws(TincKeyError) {
        let parsed: EVPKey?
        do {
            parsed = try PEMBlock.scan(text) { (block: PEMBlock) throws(TincParseError) -> EVPKey? in
                guard block.label == "RSA PRIVATE KEY" || block.label == "PRIVATE KEY" else { return nil }
                guard block.headers.isEmpty else { throw .invalidPublicKey(reason: "encrypted private keys are not supported") }
                bgpmesh_ERR_clear_error()
                var cursor = block.body.baseAddress
                let key = block.label == "RSA PRIVATE KEY"
                    ? bgpmesh_d2i_PrivateKey(EVP_PKEY_RSA, nil, &cursor, block.body.count)
                    : bgpmesh_d2i_AutoPrivateKey(nil, &cursor, block.body.count)
                guard let key else { throw .invalidPublicKey(reason: OpenSSLError.drain("cannot decode the \(block.label) block")) }
                return EVPKey(key)
            }
        } catch {
            if case .invalidPublicKey(let reason) = error { throw .invalidPrivateKey(reason: reason) }
            throw .invalidPrivateKey(reason: "\(error)")
        }
        guard let parsed else { throw .invalidPrivateKey(reason: "no -----BEGIN RSA PRIVATE KEY----- block") }
        guard bgpmesh_EVP_PKEY_get_base_id(parsed.pointer) == EVP_PKEY_RSA else { throw .invalidPrivateKey(reason: "not an RSA key") }
        guard let der = parsed.pkcs1PublicDER else { throw .invalidPrivateKey(reason: OpenSSLError.drain("no public part")) }
        do {
            publicKey = try TincRSAPublicKey(parsed, expectedPKCS1: der)
        } catch {
            throw .invalidPrivateKey(reason: "\(error)")
        }
        key = parsed
    }

    /// Wraps a key libcrypto made (`generate(bits:)`).
    init(generated key: EVPKey) throws(TincKeyError) {
        guard let der = key.pkcs1PublicDER else { throw .generationFailed(reason: OpenSSLError.drain("no public part")) }
        do {
            publicKey = try TincRSAPublicKey(key, expectedPKCS1: der)
        } catch {
            throw .generationFailed(reason: "\(error)")
        }
        self.key = key
    }

    /// The RSASSA-PKCS1-v1_5 signature with SHA-256 (RFC 8017 §8.2) of `message`, as long as the modulus.
    public func signature(for message: [UInt8]) throws(TincKeyError) -> [UInt8] {
        guard let context = bgpmesh_EVP_MD_CTX_new() else { throw .signingFailed(reason: "cannot allocate a digest context") }
        defer { bgpmesh_EVP_MD_CTX_free(context) }
        bgpmesh_ERR_clear_error()
        var keyContext: OpaquePointer?
        guard bgpmesh_EVP_DigestSignInit(context, &keyContext, bgpmesh_EVP_sha256(), nil, key.pointer) == 1,
              bgpmesh_EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PADDING) == 1 else {
            throw .signingFailed(reason: OpenSSLError.drain("EVP_DigestSignInit failed"))
        }
        var length = Int(bgpmesh_EVP_PKEY_get_size(key.pointer))
        var out = [UInt8](repeating: 0, count: length)
        let result = out.withUnsafeMutableBufferPointer { signature in
            message.withUnsafeBufferPointer { bytes in
                bgpmesh_EVP_DigestSign(context, signature.baseAddress, &length, bytes.baseAddress, bytes.count)
            }
        }
        guard result == 1 else { throw .signingFailed(reason: OpenSSLError.drain("EVP_DigestSign failed")) }
        return Array(out.prefix(length))
    }
}
