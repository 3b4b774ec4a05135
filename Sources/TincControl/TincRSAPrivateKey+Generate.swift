import COpenSSL
import Glibc

extension TincRSAPrivateKey {
    /// Key sizes `generate(bits:)` accepts: tinc 1.0 reads any, below 1024 bits is breakable.
    public static let generatableBits = 1024...16384

    /// A new RSA key pair with public exponent 65537, the kind `tincd -K` makes.
    public static func generate(bits: Int) throws(TincKeyError) -> TincRSAPrivateKey {
        guard generatableBits.contains(bits) else {
            throw .generationFailed(reason: "\(bits) bits is outside \(generatableBits.lowerBound)...\(generatableBits.upperBound)")
        }
        if let why = CryptoLibrary.loadError { throw .generationFailed(reason: why) }
        bgpmesh_ERR_clear_error()
        guard let context = bgpmesh_EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else {
            throw .generationFailed(reason: OpenSSLError.drain("EVP_PKEY_CTX_new_from_name failed"))
        }
        defer { bgpmesh_EVP_PKEY_CTX_free(context) }
        guard bgpmesh_EVP_PKEY_keygen_init(context) == 1, bgpmesh_EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1 else {
            throw .generationFailed(reason: OpenSSLError.drain("EVP_PKEY_keygen_init failed"))
        }
        var made: OpaquePointer?
        guard bgpmesh_EVP_PKEY_generate(context, &made) == 1, let made else {
            throw .generationFailed(reason: OpenSSLError.drain("EVP_PKEY_generate failed"))
        }
        return try TincRSAPrivateKey(generated: EVPKey(made))
    }

    /// The key as tincd 1.0 writes `rsa_key.priv` (PEM_write_RSAPrivateKey): PKCS#1
    /// `-----BEGIN RSA PRIVATE KEY-----`, unencrypted. The caller should wipe the bytes.
    public func pkcs1PEM() throws(TincKeyError) -> [UInt8] {
        bgpmesh_ERR_clear_error()
        guard var der = key.pkcs1PrivateDER else { throw .generationFailed(reason: OpenSSLError.drain("i2d_PrivateKey failed")) }
        defer { for index in der.indices { der[index] = 0 } }
        guard let bio = bgpmesh_BIO_new(bgpmesh_BIO_s_mem()) else { throw .generationFailed(reason: "cannot allocate a memory BIO") }
        // A memory BIO frees its buffer without wiping it; the PEM is short-lived in any case.
        defer { bgpmesh_BIO_free(bio) }
        let written = der.withUnsafeBufferPointer { bgpmesh_PEM_write_bio(bio, "RSA PRIVATE KEY", "", $0.baseAddress, $0.count) }
        var start: UnsafeMutablePointer<CChar>?
        let length = bgpmesh_BIO_ctrl(bio, BIO_CTRL_INFO, 0, &start)
        guard written > 0, length > 0, let start else { throw .generationFailed(reason: OpenSSLError.drain("PEM_write_bio failed")) }
        return Array(UnsafeRawBufferPointer(start: start, count: length))
    }

    /// Writes the key to `path` as `pkcs1PEM()`, atomically, mode 0600 (what tincd demands).
    public func write(toFile path: String) throws(TincKeyError) {
        var bytes = try pkcs1PEM()
        defer { for index in bytes.indices { bytes[index] = 0 } }
        do {
            try TincAtomicFile.write(bytes, to: path, mode: 0o600)
        } catch {
            throw .unwritable(path: path, reason: "\(error)")
        }
    }
}
