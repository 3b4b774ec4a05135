import COpenSSL

/// libcrypto.so.3, loaded on first use (docs/security.md, "Crypto library").
public enum CryptoLibrary {
    /// Nil once libcrypto is loaded; otherwise why it cannot be (`cannot load libcrypto.so.3: ...`).
    public static var loadError: String? {
        bgpmesh_crypto_load().map { String(cString: $0) }
    }
}

/// SHA-256 through libcrypto.
public enum TincHash {
    /// The 32-byte SHA-256 digest of `bytes`; nil only when libcrypto cannot be loaded.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8]? {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            digest.withUnsafeMutableBufferPointer { output in
                bgpmesh_EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, bgpmesh_EVP_sha256(), nil)
            }
        }
        guard ok == 1, length == 32 else { return nil }
        return Array(digest.prefix(32))
    }

    /// SHA-256 as 64 lowercase hex digits; nil only when libcrypto cannot be loaded.
    public static func sha256Hex(_ bytes: [UInt8]) -> String? {
        sha256(bytes).map(hex)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Owns one libcrypto `EVP_PKEY` and frees it once. Immutable after creation, which libcrypto
/// allows to be used from several threads at once (OpenSSL 3 threading guide).
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { bgpmesh_EVP_PKEY_free(pointer) }

    /// The RSA public key as PKCS#1 `RSAPublicKey` DER (also for a private key).
    var pkcs1PublicDER: [UInt8]? {
        Self.encode { bgpmesh_i2d_PublicKey(pointer, $0) }
    }

    /// The RSA private key as PKCS#1 `RSAPrivateKey` DER (`i2d_PrivateKey` writes an RSA key in
    /// its type-specific form); the caller wipes it.
    var pkcs1PrivateDER: [UInt8]? {
        Self.encode { bgpmesh_i2d_PrivateKey(pointer, $0) }
    }

    /// The public key as X.509 `SubjectPublicKeyInfo` DER.
    var subjectPublicKeyInfoDER: [UInt8]? {
        Self.encode { bgpmesh_i2d_PUBKEY(pointer, $0) }
    }

    /// A big-number parameter of the key (`n`, `e`) as an unsigned big-endian magnitude, with its sign.
    func bigNumber(_ name: String) -> (magnitude: [UInt8], negative: Bool)? {
        var number: OpaquePointer?
        guard bgpmesh_EVP_PKEY_get_bn_param(pointer, name, &number) == 1, let number else { return nil }
        defer { bgpmesh_BN_free(number) }
        var magnitude = [UInt8](repeating: 0, count: Int((bgpmesh_BN_num_bits(number) + 7) / 8))
        _ = bgpmesh_BN_bn2bin(number, &magnitude)
        return (magnitude, bgpmesh_BN_is_negative(number) != 0)
    }

    /// Runs an `i2d_*` function twice: once for the length, once into the buffer.
    private static func encode(_ i2d: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) -> [UInt8]? {
        let length = i2d(nil)
        guard length > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d(&cursor)
        }
        return written == length ? out : nil
    }
}

/// libcrypto's error queue, read and cleared (it is per thread).
enum OpenSSLError {
    /// The most recent libcrypto error as text (`error:...:DECODER routines::unsupported`), or a fallback.
    static func drain(_ fallback: String) -> String {
        var text = fallback
        var last: UInt = 0
        while case let code = bgpmesh_ERR_get_error(), code != 0 { last = code }
        if last != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            bgpmesh_ERR_error_string_n(last, &buffer, buffer.count)
            text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return text
    }
}

/// One PEM block as libcrypto's PEM reader returns it (it skips text before `-----BEGIN`).
struct PEMBlock {
    var label: String
    /// Header lines such as `Proc-Type: 4,ENCRYPTED`; empty for an unencrypted key.
    var headers: String
    /// The decoded body, wiped by libcrypto when the block is released.
    var body: UnsafeBufferPointer<UInt8>

    /// Reads PEM blocks of `text` in order until `body` returns a value or the text ends (nil).
    /// `body` sees each block; its buffer is cleared and freed after the call.
    static func scan<T>(_ text: String, _ body: (PEMBlock) throws(TincParseError) -> T?) throws(TincParseError) -> T? {
        if let why = CryptoLibrary.loadError { throw .invalidPublicKey(reason: why) }
        var bytes = Array(text.utf8)
        defer { for index in bytes.indices { bytes[index] = 0 } }
        guard bytes.count <= Int(Int32.max) else { throw .invalidPublicKey(reason: "PEM text too large") }
        guard let bio = bytes.withUnsafeBytes({ bgpmesh_BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw .invalidPublicKey(reason: OpenSSLError.drain("BIO_new_mem_buf failed"))
        }
        defer { bgpmesh_BIO_free(bio) }
        bgpmesh_ERR_clear_error()
        while true {
            var name: UnsafeMutablePointer<CChar>?
            var header: UnsafeMutablePointer<CChar>?
            var data: UnsafeMutablePointer<UInt8>?
            var length = 0
            guard bgpmesh_PEM_read_bio(bio, &name, &header, &data, &length) == 1 else {
                let code = bgpmesh_ERR_peek_last_error()
                let noMoreBlocks = ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE
                let reason = OpenSSLError.drain("unreadable PEM block")
                if noMoreBlocks { return nil }
                throw .invalidPublicKey(reason: "PEM: \(reason)")
            }
            defer {
                bgpmesh_CRYPTO_free(name, #fileID, #line)
                bgpmesh_CRYPTO_free(header, #fileID, #line)
                bgpmesh_CRYPTO_clear_free(data, length, #fileID, #line)
            }
            let block = PEMBlock(label: name.map { String(cString: $0) } ?? "", headers: header.map { String(cString: $0) } ?? "",
                                 body: UnsafeBufferPointer(start: data, count: length))
            if let result = try body(block) { return result }
        }
    }
}
