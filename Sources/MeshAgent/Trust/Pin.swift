/// A name bound to one key: the fingerprint the agent accepts for that name from now on.
public struct Pin: Codable, Sendable, Hashable {
    /// How the pin came to be.
    public enum Source: String, Codable, Sendable, CaseIterable {
        /// The first key seen for the name (no admin key configured).
        case firstUse = "first_use"
        /// The first key seen with a valid enrollment statement by the admin key.
        case enrollment
        /// `bgpmesh-agent trust pin NODE FINGERPRINT`.
        case `operator`
        /// A rotation statement signed by the previously pinned key (issue 14).
        case rotation
    }

    /// SHA-256 of the key's SubjectPublicKeyInfo, 64 lowercase hex digits.
    public var fingerprintSHA256: String
    /// Unix seconds when the pin was made.
    public var pinnedAt: Int64
    public var source: Source

    enum CodingKeys: String, CodingKey {
        case fingerprintSHA256 = "fingerprint_sha256"
        case pinnedAt = "pinned_at"
        case source
    }

    public init(fingerprintSHA256: String, pinnedAt: Int64, source: Source) {
        self.fingerprintSHA256 = fingerprintSHA256
        self.pinnedAt = pinnedAt
        self.source = source
    }

    /// 64 lowercase hex digits, the form `TincRSAPublicKey.fingerprintSHA256` has.
    public static func isFingerprint(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
