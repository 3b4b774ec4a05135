import TincControl

/// Whether to accept a node record, and whether accepting it makes a new pin. Pure: the
/// caller passes the pins, the admin key and the time, and applies the outcome.
///
/// The checks, in order: the key is the record's key; the record's signature verifies with
/// that key; with an admin key, an enrollment statement by the admin binds the name to that
/// key and has not expired; the name is unpinned (then it is pinned) or pinned to that key.
/// An enrollment never replaces a pin: only an operator or a rotation statement does.
public enum TrustDecision {
    public enum Outcome: Sendable, Equatable {
        /// Accept the record; `newPin` is set when the name had no pin.
        case accept(newPin: Pin?)
        case reject(Rejection)
    }

    public enum Rejection: Sendable, Equatable, CustomStringConvertible {
        /// The key passed is not the one the record names (a caller's mistake, never accepted).
        case keyMismatch
        /// The signature does not verify with the record's key.
        case badSignature
        /// The name is pinned to another key.
        case keyNotPinned(pinned: String, offered: String)
        /// An admin key is configured and no enrollment statement came with the record.
        case notEnrolled
        /// The enrollment statement is not signed by the admin key.
        case enrollmentBadSignature
        /// The enrollment statement is for another name or another key.
        case enrollmentMismatch
        /// The enrollment statement expired at `expiresAt` (unix seconds).
        case enrollmentExpired(expiresAt: Int64)

        /// The `reason` label of `bgpmesh_registry_rejected_records_total`.
        public var reason: String {
            switch self {
            case .keyMismatch: "key_mismatch"
            case .badSignature: "bad_signature"
            case .keyNotPinned: "key_not_pinned"
            case .notEnrolled: "not_enrolled"
            case .enrollmentBadSignature: "enrollment_bad_signature"
            case .enrollmentMismatch: "enrollment_mismatch"
            case .enrollmentExpired: "enrollment_expired"
            }
        }

        public var description: String {
            switch self {
            case .keyNotPinned(let pinned, let offered): "key_not_pinned (pinned SHA256:\(pinned), offered SHA256:\(offered))"
            case .enrollmentExpired(let expiresAt): "enrollment_expired (at \(expiresAt))"
            default: reason
            }
        }
    }

    /// Decides for `record`, whose parsed key is `key`, signed with `signature`.
    public static func decide(record: NodeRecord, key: TincRSAPublicKey, signature: [UInt8], pin: Pin?,
                              adminKey: TincRSAPublicKey?, enrollment: EnrollmentStatement?, now: Int64) -> Outcome {
        let fingerprint = key.fingerprintSHA256
        guard record.fingerprintSHA256 == fingerprint, (try? TincRSAPublicKey(pemText: record.publicKey)) == key else {
            return .reject(.keyMismatch)
        }
        guard key.isValidSignature(signature, for: CanonicalRecord.bytes(of: record)) else { return .reject(.badSignature) }
        if let adminKey {
            guard let enrollment else { return .reject(.notEnrolled) }
            guard enrollment.isSigned(by: adminKey) else { return .reject(.enrollmentBadSignature) }
            guard enrollment.name == record.name, enrollment.fingerprintSHA256 == fingerprint else { return .reject(.enrollmentMismatch) }
            if let expiresAt = enrollment.expiresAt, now >= expiresAt { return .reject(.enrollmentExpired(expiresAt: expiresAt)) }
        }
        if let pin {
            guard pin.fingerprintSHA256 == fingerprint else { return .reject(.keyNotPinned(pinned: pin.fingerprintSHA256, offered: fingerprint)) }
            return .accept(newPin: nil)
        }
        return .accept(newPin: Pin(fingerprintSHA256: fingerprint, pinnedAt: now, source: adminKey == nil ? .firstUse : .enrollment))
    }
}
