#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TincControl

/// The persistent membership record under `nodes/<name>` (ARCHITECTURE.md, "etcd registry"):
/// what another node needs to write this node's tinc host file and to peer with it.
public struct NodeRecord: Codable, Sendable, Hashable {
    /// The schema this build writes and understands.
    public static let currentSchema = 1

    public struct Underlay: Codable, Sendable, Hashable {
        /// tinc `Address` values: IPv4, IPv6 or a DNS name, without the port.
        public var addresses: [String]
        public var port: Int

        public init(addresses: [String], port: Int) {
            self.addresses = addresses
            self.port = port
        }
    }

    public struct Overlay: Codable, Sendable, Hashable {
        /// The node's addresses on the tinc interface (what BGP and the probes use).
        public var addresses: [String]
        /// tinc `Subnet` values the node owns (empty in switch mode).
        public var subnets: [String]

        public init(addresses: [String], subnets: [String]) {
            self.addresses = addresses
            self.subnets = subnets
        }
    }

    public struct BGP: Codable, Sendable, Hashable {
        public var asn: UInt32?
        public var routerID: String?
        /// `reflector` for a route reflector (`mesh.role`); absent for a client, so a client's
        /// record has the bytes of builds before route reflectors.
        public var role: String?

        enum CodingKeys: String, CodingKey {
            case asn
            case routerID = "router_id"
            case role
        }

        public init(asn: UInt32?, routerID: String?, role: String? = nil) {
            self.asn = asn
            self.routerID = routerID
            self.role = role
        }
    }

    public var schema: Int
    public var name: String
    public var underlay: Underlay
    public var overlay: Overlay
    public var bgp: BGP
    /// The tinc RSA public key, PEM (PKCS#1, as tinc 1.0 writes it).
    public var publicKey: String
    /// SHA-256 of the key's SubjectPublicKeyInfo DER, lowercase hex (`openssl pkey -pubin -outform DER | sha256sum`).
    public var fingerprintSHA256: String
    public var agentVersion: String
    /// Key rotations of other nodes this node has installed: node name -> the fingerprint its
    /// `hosts/<name>` now holds (docs/rotation.md, "Acknowledgements"). Signed with the rest of
    /// the record, so an ack cannot be forged by etcd write access. Empty (and absent from the
    /// JSON, so a record without acks has the bytes of earlier builds) outside rotations.
    public var keyAcks: [String: String] = [:]

    enum CodingKeys: String, CodingKey {
        case schema, name, underlay, overlay, bgp
        case publicKey = "public_key"
        case fingerprintSHA256 = "fingerprint_sha256"
        case agentVersion = "agent_version"
        case keyAcks = "key_acks"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schema = try container.decode(Int.self, forKey: .schema)
        name = try container.decode(String.self, forKey: .name)
        underlay = try container.decode(Underlay.self, forKey: .underlay)
        overlay = try container.decode(Overlay.self, forKey: .overlay)
        bgp = try container.decode(BGP.self, forKey: .bgp)
        publicKey = try container.decode(String.self, forKey: .publicKey)
        fingerprintSHA256 = try container.decode(String.self, forKey: .fingerprintSHA256)
        agentVersion = try container.decode(String.self, forKey: .agentVersion)
        // Absent in records of builds before key rotation.
        keyAcks = try container.decodeIfPresent([String: String].self, forKey: .keyAcks) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(name, forKey: .name)
        try container.encode(underlay, forKey: .underlay)
        try container.encode(overlay, forKey: .overlay)
        try container.encode(bgp, forKey: .bgp)
        try container.encode(publicKey, forKey: .publicKey)
        try container.encode(fingerprintSHA256, forKey: .fingerprintSHA256)
        try container.encode(agentVersion, forKey: .agentVersion)
        if !keyAcks.isEmpty { try container.encode(keyAcks, forKey: .keyAcks) }
    }

    public init(name: String, underlay: Underlay, overlay: Overlay, bgp: BGP, publicKey: TincRSAPublicKey,
                agentVersion: String = BuildInfo.version) {
        schema = Self.currentSchema
        self.name = name
        self.underlay = underlay
        self.overlay = overlay
        self.bgp = bgp
        self.publicKey = publicKey.pem
        fingerprintSHA256 = publicKey.fingerprintSHA256
        self.agentVersion = agentVersion
    }

    /// Compact JSON with sorted keys: the same record always gives the same bytes, so an
    /// unchanged record is never put again.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings and integers cannot fail.
        return (try? Array(encoder.encode(self))) ?? []
    }
}
