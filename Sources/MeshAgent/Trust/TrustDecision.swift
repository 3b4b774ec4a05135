import TincControl

/// Whether to accept a node record, and whether accepting it makes a new pin. Pure: the
/// caller passes the pins, the admin key and the time, and applies the outcome.
///
/// The checks, in order: the key is the record's key; the record's signature verifies with
/// that key; with an admin key, an enrollment statement by the admin binds the name to that
/// key and has not expired; the name is unpinned (then it is pinned) or pinned to that key.
/// An enrollment never replaces a pin: only an operator or a rotation statement does.
///
/// Rotation: when the name is pinned to another key, the record's rotation statements must
/// lead from the pinned key to the record's key (`RotationStatement.follow`); the pin then
/// moves (`newPin` with source `.rotation`). An enrollment for an older key admits the record's
/// key through the same chain.
public enum TrustDecision {
    public enum Outcome: Sendable, Equatable {
        /// Accept the record; `newPin` is set when the name had no pin, or when a rotation chain
        /// moves the name's pin to the record's key.
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
        /// The rotation statements do not lead from the pin to the record's key.
        case rotationInvalid(RotationStatement.ChainError)

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
            case .rotationInvalid: "rotation_invalid"
            }
        }

        public var description: String {
            switch self {
            case .keyNotPinned(let pinned, let offered): "key_not_pinned (pinned SHA256:\(pinned), offered SHA256:\(offered))"
            case .enrollmentExpired(let expiresAt): "enrollment_expired (at \(expiresAt))"
            case .rotationInvalid(let error): "rotation_invalid (\(error))"
            default: reason
            }
        }
    }

    /// Decides for `record`, whose parsed key is `key`, signed with `signature`.
    public static func decide(record: NodeRecord, key: TincRSAPublicKey, signature: [UInt8], pin: Pin?,
                              adminKey: TincRSAPublicKey?, enrollment: EnrollmentStatement?,
                              rotations: [RotationStatement] = [], now: Int64) -> Outcome {
        let fingerprint = key.fingerprintSHA256
        guard record.fingerprintSHA256 == fingerprint, (try? TincRSAPublicKey(pemText: record.publicKey)) == key else {
            return .reject(.keyMismatch)
        }
        guard key.isValidSignature(signature, for: CanonicalRecord.bytes(of: record)) else { return .reject(.badSignature) }
        guard rotations.count <= RotationStatement.maxChain else { return .reject(.rotationInvalid(.tooLong(rotations.count))) }
        func chain(from pinned: String) -> Result<Void, RotationStatement.ChainError> {
            RotationStatement.follow(rotations, name: record.name, from: pinned, to: fingerprint)
        }
        if let adminKey {
            guard let enrollment else { return .reject(.notEnrolled) }
            guard enrollment.isSigned(by: adminKey) else { return .reject(.enrollmentBadSignature) }
            guard enrollment.name == record.name else { return .reject(.enrollmentMismatch) }
            if enrollment.fingerprintSHA256 != fingerprint {
                // The enrolled key, rotated since: the chain must lead from it to this key.
                guard !rotations.isEmpty, case .success = chain(from: enrollment.fingerprintSHA256) else { return .reject(.enrollmentMismatch) }
            }
            if let expiresAt = enrollment.expiresAt, now >= expiresAt { return .reject(.enrollmentExpired(expiresAt: expiresAt)) }
        }
        if let pin {
            if pin.fingerprintSHA256 == fingerprint { return .accept(newPin: nil) }
            let notPinned = Outcome.reject(.keyNotPinned(pinned: pin.fingerprintSHA256, offered: fingerprint))
            guard !rotations.isEmpty else { return notPinned }
            switch chain(from: pin.fingerprintSHA256) {
            case .success: return .accept(newPin: Pin(fingerprintSHA256: fingerprint, pinnedAt: now, source: .rotation))
            case .failure(.notFromPin): return notPinned
            case .failure(let error): return .reject(.rotationInvalid(error))
            }
        }
        return .accept(newPin: Pin(fingerprintSHA256: fingerprint, pinnedAt: now, source: adminKey == nil ? .firstUse : .enrollment))
    }
}
