import COpenSSL

extension TincRSAPublicKey {
    /// True when `signature` is this key's RSASSA-PKCS1-v1_5 signature with SHA-256
    /// (RFC 8017 §8.2) over `message`. A signature of another length is false without
    /// asking libcrypto.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == (modulusBits + 7) / 8, let key = evpKey() else { return false }
        guard let context = bgpmesh_EVP_MD_CTX_new() else { return false }
        defer {
            bgpmesh_EVP_MD_CTX_free(context)
            bgpmesh_ERR_clear_error()
        }
        var keyContext: OpaquePointer?
        guard bgpmesh_EVP_DigestVerifyInit(context, &keyContext, bgpmesh_EVP_sha256(), nil, key.pointer) == 1,
              bgpmesh_EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PADDING) == 1 else { return false }
        let result = signature.withUnsafeBufferPointer { signatureBytes in
            message.withUnsafeBufferPointer { messageBytes in
                bgpmesh_EVP_DigestVerify(context, signatureBytes.baseAddress, signatureBytes.count, messageBytes.baseAddress, messageBytes.count)
            }
        }
        return result == 1
    }
}
