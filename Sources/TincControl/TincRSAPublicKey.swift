import COpenSSL

/// An RSA public key from a tinc host file, parsed and checked by libcrypto.
///
/// tinc 1.0 writes PKCS#1 (`-----BEGIN RSA PUBLIC KEY-----`, PEM_write_RSAPublicKey) and also
/// reads X.509 SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`); both are accepted.
///
/// Fingerprint: SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex. It does not depend on
/// which of the two PEM forms the file uses, and it equals
/// `openssl rsa -RSAPublicKey_in -pubout -outform DER | sha256sum` (or `openssl pkey -pubin -outform DER`).
public struct TincRSAPublicKey: Sendable, Hashable {
    /// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
    public let pkcs1DER: [UInt8]
    /// Significant bits of the modulus (2048 for `tincd -K 2048`).
    public let modulusBits: Int
    /// The public exponent (65537 for tinc-generated keys); nil when it is wider than 64 bits.
    public let publicExponent: UInt64?
    /// `SubjectPublicKeyInfo { AlgorithmIdentifier { rsaEncryption, NULL }, BIT STRING { RSAPublicKey } }`.
    public let subjectPublicKeyInfoDER: [UInt8]
    /// SHA-256 of `subjectPublicKeyInfoDER`, 64 lowercase hex digits.
    public let fingerprintSHA256: String

    /// Parses PKCS#1 DER. libcrypto decodes it; the key must encode back to the same bytes
    /// (DER is canonical, so trailing bytes, long-form lengths or padded integers are refused).
    public init(pkcs1DER der: [UInt8]) throws(TincParseError) {
        if let why = CryptoLibrary.loadError { throw .invalidPublicKey(reason: why) }
        bgpmesh_ERR_clear_error()
        let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return bgpmesh_d2i_PublicKey(EVP_PKEY_RSA, nil, &cursor, buffer.count)
        }
        guard let parsed else { throw .invalidPublicKey(reason: OpenSSLError.drain("not a PKCS#1 RSAPublicKey")) }
        try self.init(EVPKey(parsed), expectedPKCS1: der)
    }

    /// Finds the first RSA public key block in PEM text (a host file may hold config lines around it).
    public init(pemText text: String) throws(TincParseError) {
        let found: TincRSAPublicKey? = try PEMBlock.scan(text) { (block: PEMBlock) throws(TincParseError) -> TincRSAPublicKey? in
            guard block.label == "RSA PUBLIC KEY" || block.label == "PUBLIC KEY" else { return nil }
            guard block.headers.isEmpty else {
                throw .invalidPublicKey(reason: "encrypted or annotated PEM (header lines) is not a public key")
            }
            let der = Array(block.body)
            if block.label == "RSA PUBLIC KEY" { return try TincRSAPublicKey(pkcs1DER: der) }
            return try TincRSAPublicKey(subjectPublicKeyInfoDER: der)
        }
        guard let found else { throw .invalidPublicKey(reason: "no -----BEGIN RSA PUBLIC KEY----- block") }
        self = found
    }

    /// Parses X.509 SubjectPublicKeyInfo DER holding an RSA key.
    public init(subjectPublicKeyInfoDER der: [UInt8]) throws(TincParseError) {
        if let why = CryptoLibrary.loadError { throw .invalidPublicKey(reason: why) }
        bgpmesh_ERR_clear_error()
        let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            let key = bgpmesh_d2i_PUBKEY(nil, &cursor, buffer.count)
            // Bytes after the structure: refused like any other non-canonical encoding.
            if let key, cursor != buffer.baseAddress.map({ $0 + buffer.count }) { bgpmesh_EVP_PKEY_free(key); return nil }
            return key
        }
        guard let parsed else { throw .invalidPublicKey(reason: OpenSSLError.drain("not a SubjectPublicKeyInfo")) }
        let key = EVPKey(parsed)
        guard bgpmesh_EVP_PKEY_get_base_id(parsed) == EVP_PKEY_RSA else { throw .invalidPublicKey(reason: "not an rsaEncryption key") }
        guard key.subjectPublicKeyInfoDER == der else { throw .invalidPublicKey(reason: "SubjectPublicKeyInfo is not canonical DER") }
        guard let pkcs1 = key.pkcs1PublicDER else { throw .invalidPublicKey(reason: OpenSSLError.drain("cannot encode RSAPublicKey")) }
        try self.init(key, expectedPKCS1: pkcs1)
    }

    /// Checks a parsed key: canonical encoding, 512 to 16384 bits, odd modulus, odd exponent >= 3.
    init(_ key: EVPKey, expectedPKCS1 der: [UInt8]) throws(TincParseError) {
        guard bgpmesh_EVP_PKEY_get_base_id(key.pointer) == EVP_PKEY_RSA else { throw .invalidPublicKey(reason: "not an RSA key") }
        guard key.pkcs1PublicDER == der else { throw .invalidPublicKey(reason: "RSAPublicKey is not canonical DER") }
        guard let modulus = key.bigNumber("n"), let exponent = key.bigNumber("e") else {
            throw .invalidPublicKey(reason: OpenSSLError.drain("no modulus or exponent"))
        }
        guard !modulus.negative, let lastModulusByte = modulus.magnitude.last else { throw .invalidPublicKey(reason: "modulus: zero or negative") }
        guard !exponent.negative, let lastExponentByte = exponent.magnitude.last else { throw .invalidPublicKey(reason: "public exponent: zero or negative") }
        let bits = Int(bgpmesh_EVP_PKEY_get_bits(key.pointer))
        guard (512...16384).contains(bits) else { throw .invalidPublicKey(reason: "modulus of \(bits) bits") }
        guard lastModulusByte & 1 == 1 else { throw .invalidPublicKey(reason: "even modulus") }
        guard lastExponentByte & 1 == 1, exponent.magnitude.count > 1 || lastExponentByte >= 3 else {
            throw .invalidPublicKey(reason: "public exponent is even or below 3")
        }
        guard let spki = key.subjectPublicKeyInfoDER, let fingerprint = TincHash.sha256Hex(spki) else {
            throw .invalidPublicKey(reason: OpenSSLError.drain("cannot encode SubjectPublicKeyInfo"))
        }
        pkcs1DER = der
        modulusBits = bits
        publicExponent = exponent.magnitude.count <= 8 ? exponent.magnitude.reduce(0) { $0 << 8 | UInt64($1) } : nil
        subjectPublicKeyInfoDER = spki
        fingerprintSHA256 = fingerprint
    }

    /// The key as tinc 1.0 writes it: PKCS#1 PEM, 64 characters a line, with a final newline.
    public var pem: String {
        guard let bio = bgpmesh_BIO_new(bgpmesh_BIO_s_mem()) else { preconditionFailure("libcrypto: cannot allocate a memory BIO") }
        defer { bgpmesh_BIO_free(bio) }
        let written = pkcs1DER.withUnsafeBufferPointer { bgpmesh_PEM_write_bio(bio, "RSA PUBLIC KEY", "", $0.baseAddress, $0.count) }
        var start: UnsafeMutablePointer<CChar>?
        let length = bgpmesh_BIO_ctrl(bio, BIO_CTRL_INFO, 0, &start)
        // A memory BIO only fails to grow when memory is exhausted.
        precondition(written > 0 && length > 0, "libcrypto: PEM encoding failed")
        return String(decoding: UnsafeRawBufferPointer(start: start, count: length), as: UTF8.self)
    }

    /// The key as a libcrypto key object (the bytes were checked at init, so this cannot fail
    /// unless memory is exhausted).
    func evpKey() -> EVPKey? {
        pkcs1DER.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return bgpmesh_d2i_PublicKey(EVP_PKEY_RSA, nil, &cursor, buffer.count).map(EVPKey.init)
        }
    }
}
