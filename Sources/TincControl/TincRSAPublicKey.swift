/// An RSA public key from a tinc host file, checked by a minimal DER walk.
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

    public init(pkcs1DER der: [UInt8]) throws(TincParseError) {
        var outer = DERReader(der)
        var sequence = try outer.read(tag: 0x30, "RSAPublicKey SEQUENCE")
        guard outer.isAtEnd else { throw .invalidPublicKey(reason: "bytes after the RSAPublicKey SEQUENCE") }
        let modulus = try sequence.readPositiveInteger("modulus")
        let exponent = try sequence.readPositiveInteger("public exponent")
        guard sequence.isAtEnd else { throw .invalidPublicKey(reason: "extra fields in RSAPublicKey") }
        let bits = (modulus.count - 1) * 8 + (8 - modulus[0].leadingZeroBitCount)
        guard (512...16384).contains(bits) else { throw .invalidPublicKey(reason: "modulus of \(bits) bits") }
        guard modulus[modulus.count - 1] & 1 == 1 else { throw .invalidPublicKey(reason: "even modulus") }
        guard exponent[exponent.count - 1] & 1 == 1, exponent.count > 1 || exponent[0] >= 3 else {
            throw .invalidPublicKey(reason: "public exponent is even or below 3")
        }
        pkcs1DER = der
        modulusBits = bits
        publicExponent = exponent.count <= 8 ? exponent.reduce(0) { $0 << 8 | UInt64($1) } : nil
    }

    /// Finds the first RSA key block in PEM text (a host file may hold config lines around it).
    public init(pemText text: String) throws(TincParseError) {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.last == "\r" ? $0.dropLast() : $0 }
        let labels = ["RSA PUBLIC KEY", "PUBLIC KEY"]
        guard let begin = lines.firstIndex(where: { line in labels.contains { line == "-----BEGIN \($0)-----" } }) else {
            throw .invalidPublicKey(reason: "no -----BEGIN RSA PUBLIC KEY----- block")
        }
        let label = String(lines[begin].dropFirst(11).dropLast(5))
        guard let end = lines[(begin + 1)...].firstIndex(where: { $0 == "-----END \(label)-----" }) else {
            throw .invalidPublicKey(reason: "no -----END \(label)----- line")
        }
        let body = lines[(begin + 1)..<end]
        guard !body.contains(where: { $0.contains(":") }) else {
            throw .invalidPublicKey(reason: "encrypted or annotated PEM (header lines) is not a public key")
        }
        guard let der = Base64.decode(body.joined()) else { throw .invalidPublicKey(reason: "PEM body is not base64") }
        if label == "RSA PUBLIC KEY" {
            try self.init(pkcs1DER: der)
        } else {
            try self.init(pkcs1DER: try Self.pkcs1(fromSubjectPublicKeyInfo: der))
        }
    }

    /// `SubjectPublicKeyInfo { AlgorithmIdentifier { rsaEncryption, NULL }, BIT STRING { RSAPublicKey } }`.
    public var subjectPublicKeyInfoDER: [UInt8] {
        let algorithm: [UInt8] = [0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00]
        let bitString = DERReader.encode(tag: 0x03, [0x00] + pkcs1DER)
        return DERReader.encode(tag: 0x30, algorithm + bitString)
    }

    /// SHA-256 of `subjectPublicKeyInfoDER`, 64 lowercase hex digits.
    public var fingerprintSHA256: String { SHA256.hex(subjectPublicKeyInfoDER) }

    /// The key as tinc 1.0 writes it: PKCS#1 PEM, 64 characters a line, with a final newline.
    public var pem: String {
        let encoded = Base64.encode(pkcs1DER)
        var text = "-----BEGIN RSA PUBLIC KEY-----\n"
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let next = encoded.index(index, offsetBy: 64, limitedBy: encoded.endIndex) ?? encoded.endIndex
            text += encoded[index..<next] + "\n"
            index = next
        }
        return text + "-----END RSA PUBLIC KEY-----\n"
    }

    static func pkcs1(fromSubjectPublicKeyInfo der: [UInt8]) throws(TincParseError) -> [UInt8] {
        var outer = DERReader(der)
        var info = try outer.read(tag: 0x30, "SubjectPublicKeyInfo SEQUENCE")
        guard outer.isAtEnd else { throw .invalidPublicKey(reason: "bytes after SubjectPublicKeyInfo") }
        var algorithm = try info.read(tag: 0x30, "AlgorithmIdentifier")
        let oid = try algorithm.read(tag: 0x06, "algorithm OID")
        guard oid.bytes == [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01] else {
            throw .invalidPublicKey(reason: "not an rsaEncryption key")
        }
        let bitString = try info.read(tag: 0x03, "subjectPublicKey BIT STRING")
        guard info.isAtEnd, bitString.bytes.first == 0 else { throw .invalidPublicKey(reason: "malformed subjectPublicKey") }
        return Array(bitString.bytes.dropFirst())
    }
}

/// A strict reader of DER TLVs (definite lengths, minimal length encoding, single-byte tags).
struct DERReader {
    let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(_ bytes: ArraySlice<UInt8>) { self.bytes = Array(bytes) }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func read(tag: UInt8, _ what: String) throws(TincParseError) -> DERReader {
        guard offset + 2 <= bytes.count else { throw .invalidPublicKey(reason: "\(what): truncated") }
        guard bytes[offset] == tag else { throw .invalidPublicKey(reason: "\(what): tag \(bytes[offset]), expected \(tag)") }
        var length = Int(bytes[offset + 1])
        var cursor = offset + 2
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard (1...4).contains(count), cursor + count <= bytes.count else { throw .invalidPublicKey(reason: "\(what): bad length") }
            length = 0
            for _ in 0..<count { length = length << 8 | Int(bytes[cursor]); cursor += 1 }
            guard length >= 0x80, length >> (8 * (count - 1)) != 0 else { throw .invalidPublicKey(reason: "\(what): non-minimal length") }
        }
        guard length <= bytes.count - cursor else { throw .invalidPublicKey(reason: "\(what): length beyond the data") }
        offset = cursor + length
        return DERReader(bytes[cursor..<cursor + length])
    }

    /// A positive INTEGER's magnitude, without the sign byte.
    mutating func readPositiveInteger(_ what: String) throws(TincParseError) -> [UInt8] {
        let integer = try read(tag: 0x02, what).bytes
        guard let first = integer.first else { throw .invalidPublicKey(reason: "\(what): empty INTEGER") }
        guard first & 0x80 == 0 else { throw .invalidPublicKey(reason: "\(what): negative") }
        if first == 0 {
            guard integer.count > 1, integer[1] & 0x80 != 0 else { throw .invalidPublicKey(reason: "\(what): zero or non-minimal") }
            return Array(integer.dropFirst())
        }
        return integer
    }

    static func encode(tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [tag]
        let length = content.count
        if length < 0x80 {
            out.append(UInt8(length))
        } else {
            var lengthBytes: [UInt8] = []
            var rest = length
            while rest > 0 { lengthBytes.insert(UInt8(rest & 0xFF), at: 0); rest >>= 8 }
            out.append(0x80 | UInt8(lengthBytes.count))
            out += lengthBytes
        }
        return out + content
    }
}

/// Standard base64 (RFC 4648 §4) for PEM bodies.
enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Decodes, ignoring blanks; nil for any other character, bad padding or a bad length.
    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for byte in text.utf8 {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "="): padding += 1; continue
            default: break
            }
            guard padding == 0 else { return nil }
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            default: return nil
            }
            values.append(value)
        }
        guard padding <= 2, (values.count + padding) % 4 == 0, !values.isEmpty else { return nil }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index + 4 <= values.count {
            let v = UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12 | UInt32(values[index + 2]) << 6 | UInt32(values[index + 3])
            out += [UInt8(v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
            index += 4
        }
        let rest = values.count - index
        if rest == 2 {
            out.append(values[index] << 2 | values[index + 1] >> 4)
        } else if rest == 3 {
            out.append(values[index] << 2 | values[index + 1] >> 4)
            out.append(values[index + 1] << 4 | values[index + 2] >> 2)
        }
        return out
    }

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
