import POSIXSupport
import TincControl

extension TrustCommands {
    /// Largest key file `fingerprint` reads: a tinc host file with its key and a few settings.
    public static let maxPublicKeyFileBytes = 64 << 10

    /// `fingerprint FILE`: the SHA-256 fingerprint of the first RSA public key in a PEM file (a
    /// tinc host file, `rsa_key.pub`, `openssl rsa -pubout` output), 64 lowercase hex digits.
    public static func fingerprint(ofPublicKeyFile path: String) throws(TrustCommandError) -> String {
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.read(path, limit: maxPublicKeyFileBytes)
        } catch {
            throw .publicKey(path: path, reason: error.reason)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            return try TincRSAPublicKey(pemText: text).fingerprintSHA256
        } catch {
            if text.contains("PRIVATE KEY-----") {
                throw .publicKey(path: path, reason: "holds a private key, not a public one; give the node's host file, "
                                 + "or derive the public key with `openssl rsa -in \(path) -pubout`")
            }
            throw .publicKey(path: path, reason: "\(error)")
        }
    }

    /// `enroll`: signs a statement that `name` may join with the key of `fingerprint` (operator
    /// text, see `fingerprint(fromOperatorText:)`) until `expiresAt` (unix seconds, nil for
    /// never), with the admin's private key read from `adminKeyFile` (refused when group or
    /// others may access it). Returns the statement and the admin public key's fingerprint.
    public static func enroll(adminKeyFile: String, name: String, fingerprint text: String,
                              expiresAt: Int64?) throws(TrustCommandError) -> (statement: EnrollmentStatement, adminFingerprint: String) {
        try checkName(name)
        let fingerprint = try fingerprint(fromOperatorText: text)
        let adminKey: TincRSAPrivateKey
        do { adminKey = try TincRSAPrivateKey(contentsOfFile: adminKeyFile) } catch { throw .adminKey(error) }
        do {
            let statement = try EnrollmentStatement.sign(name: name, fingerprintSHA256: fingerprint, expiresAt: expiresAt, with: adminKey)
            return (statement, adminKey.publicKey.fingerprintSHA256)
        } catch {
            throw .enrollment(error)
        }
    }

    /// Writes a statement (its JSON and a newline) atomically with mode 0644: it is public, the
    /// node publishes it in etcd with its record.
    public static func write(_ statement: EnrollmentStatement, to path: String) throws(TrustCommandError) {
        do {
            try TincAtomicFile.write(statement.encoded() + [0x0A], to: path, mode: 0o644)
        } catch {
            throw .write(error)
        }
    }
}
