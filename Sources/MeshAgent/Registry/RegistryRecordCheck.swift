#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TincControl

/// Why a registry record was refused; the `reason` label of
/// `bgpmesh_registry_rejected_records_total`.
public enum RegistryRejection: String, Sendable, Hashable, CaseIterable, Error {
    /// The name in the key is not `[A-Za-z0-9_]+` (it would become a path under `hosts/`).
    case invalidName = "invalid_name"
    /// The record's `name` differs from the name in its key.
    case nameMismatch = "name_mismatch"
    /// The value is larger than `registry.max-record-bytes`.
    case oversized
    /// The value is not the JSON of a node record.
    case malformed
    /// A schema version this agent does not know.
    case unsupportedSchema = "unsupported_schema"
    /// The PEM is not an RSA public key.
    case invalidKey = "invalid_key"
    /// The fingerprint does not match the key.
    case fingerprintMismatch = "fingerprint_mismatch"
    /// An address, port or subnet that could inject configuration or that tinc would refuse.
    case invalidField = "invalid_field"
    /// More subnets than `registry.max-subnets`.
    case tooManySubnets = "too_many_subnets"
    /// A subnet of length 0 (`0.0.0.0/0`, `::/0`): the whole overlay's traffic to one node.
    case defaultRoute = "default_route"
    /// A subnet outside `mesh.overlay-prefixes` (or a MAC subnet).
    case subnetOutsideOverlay = "subnet_outside_overlay"
    /// An overlay address outside `mesh.overlay-prefixes`: it would become a probe target.
    case addressOutsideOverlay = "address_outside_overlay"
    /// A subnet overlapping another node's, or an overlay address another node has: the node
    /// whose record was created first keeps it.
    case subnetConflict = "subnet_conflict"
    /// The record carries no signature.
    case unsigned
    /// The signature (or its algorithm) is not a valid RSA/SHA-256 signature by the record's key.
    case badSignature = "bad_signature"
    /// The name is pinned to another key (trust on first use, an operator's pin, an enrollment).
    case keyNotPinned = "key_not_pinned"
    /// `registry.admin-public-key` is set and the record has no enrollment statement.
    case notEnrolled = "not_enrolled"
    /// The enrollment statement is not signed by the admin key.
    case enrollmentBadSignature = "enrollment_bad_signature"
    /// The enrollment statement names another node or another key.
    case enrollmentMismatch = "enrollment_mismatch"
    /// The enrollment statement has expired.
    case enrollmentExpired = "enrollment_expired"
    /// The record's key differs from the pin and its rotation statements do not lead from the
    /// pin to it (forged, broken, signed by the wrong key, or a chain longer than 8).
    case rotationInvalid = "rotation_invalid"
    /// A new name while the registry already holds `registry.max-nodes` records.
    case tooManyNodes = "too_many_nodes"
}

/// A record that passed every check, with what the agent derives from it.
public struct ValidNodeRecord: Sendable, Hashable {
    public let name: TincNodeName
    public let record: NodeRecord
    public let key: TincRSAPublicKey
    /// The `hosts/<name>` file for this record, byte for byte.
    public let hostFile: String
    /// The record's subnets and overlay addresses, parsed (all within the overlay prefixes).
    public let subnets: [IPPrefix]
    public let overlayAddresses: [IPPrefix]
    /// The signature over `CanonicalRecord.bytes(of: record)` (checked by `TrustDecision`).
    public let signature: [UInt8]
    /// The enrollment statement the node published with its record, if any.
    public let enrollment: EnrollmentStatement?
    /// The rotation statements the node published with its record, oldest first.
    public let rotations: [RotationStatement]
}

/// Turns an etcd key and value from the registry into a `ValidNodeRecord` or a rejection,
/// without trusting either: the name decides a file path and the value becomes a tinc
/// configuration file.
public enum RegistryRecordCheck {
    /// The first line of every host file the agent writes; resync only deletes files with it.
    public static let hostFileMarker = "# Managed by bgpmesh-agent from the etcd registry; edits are overwritten."

    /// A name from the key's last segment, validated (nil: reject as `.invalidName`).
    public static func name(fromKey key: String, prefix: String) -> TincNodeName? {
        guard key.hasPrefix(prefix) else { return nil }
        return TincNodeName(String(key.dropFirst(prefix.utf8.count)))
    }

    /// The limits a record is held to (from the settings).
    public struct Rules: Sendable {
        /// `registry.max-record-bytes`.
        public var maxBytes: Int
        /// `mesh.overlay-prefixes`: overlay addresses and subnets lie within them.
        public var overlayPrefixes: [IPPrefix]
        /// `registry.max-subnets`.
        public var maxSubnets: Int
        /// `registry.max-nodes` (a rule of the view: it counts the records held).
        public var maxNodes: Int

        public init(maxBytes: Int, overlayPrefixes: [IPPrefix], maxSubnets: Int, maxNodes: Int = 1024) {
            self.maxBytes = maxBytes
            self.overlayPrefixes = overlayPrefixes
            self.maxSubnets = maxSubnets
            self.maxNodes = maxNodes
        }

        func withinOverlay(_ prefix: IPPrefix) -> Bool { overlayPrefixes.contains { $0.contains(prefix) } }
    }

    /// Checks one value on its own: shape, size, key, fields, the overlay rules and the
    /// signature envelope (decoded, not verified: `TrustDecision` verifies it with the pins).
    public static func check(name keyName: TincNodeName, value: [UInt8], rules: Rules)
        -> Result<ValidNodeRecord, RegistryRejection> {
        guard value.count <= rules.maxBytes else { return .failure(.oversized) }
        let record: NodeRecord
        do {
            record = try JSONDecoder().decode(NodeRecord.self, from: Data(value))
        } catch {
            return .failure(.malformed)
        }
        guard record.schema == NodeRecord.currentSchema else { return .failure(.unsupportedSchema) }
        guard record.name == keyName.rawValue else { return .failure(.nameMismatch) }
        let key: TincRSAPublicKey
        do {
            key = try TincRSAPublicKey(pemText: record.publicKey)
        } catch {
            return .failure(.invalidKey)
        }
        // A record may hold anything after the key block; only the key itself is used, and the
        // host file gets the key re-encoded, never the record's text.
        guard key.modulusBits >= 1024 else { return .failure(.invalidKey) }
        // Exactly the lowercase hex the key gives: TrustDecision and the pins compare it as is.
        guard record.fingerprintSHA256 == key.fingerprintSHA256 else { return .failure(.fingerprintMismatch) }
        guard (1...65535).contains(record.underlay.port),
              !record.underlay.addresses.isEmpty, record.underlay.addresses.count <= 16,
              record.underlay.addresses.allSatisfy(isSafeHost),
              record.overlay.addresses.count <= 16, record.overlay.addresses.allSatisfy(isNumericAddress),
              record.overlay.subnets.count <= 256,
              record.keyAcks.count <= rules.maxNodes,
              record.keyAcks.allSatisfy({ TincNodeName.isValid($0.key) && Pin.isFingerprint($0.value) }),
              record.bgp.role.map({ BGPRole(rawValue: $0) != nil }) ?? true
        else { return .failure(.invalidField) }
        var subnets: [TincSubnet] = []
        for text in record.overlay.subnets {
            guard text.utf8.count <= 64, let subnet = try? TincSubnet(parsing: Substring(text)) else { return .failure(.invalidField) }
            subnets.append(subnet)
        }
        guard subnets.count <= rules.maxSubnets else { return .failure(.tooManySubnets) }
        var prefixes: [IPPrefix] = []
        for subnet in subnets {
            // A MAC subnet (switch mode) has no place in an IP overlay's prefixes.
            guard subnet.kind != .mac, let length = subnet.prefixLength,
                  let prefix = IPPrefix("\(subnet.address)/\(length)") else { return .failure(.subnetOutsideOverlay) }
            guard !prefix.isDefault else { return .failure(.defaultRoute) }
            guard rules.withinOverlay(prefix) else { return .failure(.subnetOutsideOverlay) }
            prefixes.append(prefix)
        }
        var overlayAddresses: [IPPrefix] = []
        for text in record.overlay.addresses {
            guard let address = IPPrefix(text), rules.withinOverlay(address) else { return .failure(.addressOutsideOverlay) }
            overlayAddresses.append(address)
        }
        let envelope: SignedRecord
        do {
            envelope = try SignedRecord.decode(value)
        } catch {
            return .failure(error == .unsigned ? .unsigned : .badSignature)
        }
        let body: String
        do {
            body = try TincConfigWriter.hostFile(
                addresses: record.underlay.addresses.map { TincHostAddress(host: $0, port: nil) },
                port: String(record.underlay.port), subnets: subnets, publicKeyPEM: key.pem)
        } catch {
            return .failure(.invalidField)
        }
        let hostFile = hostFileMarker + "\n# nodes/\(keyName.rawValue), key SHA256:\(key.fingerprintSHA256)\n" + body
        return .success(ValidNodeRecord(name: keyName, record: record, key: key, hostFile: hostFile, subnets: prefixes,
                                        overlayAddresses: overlayAddresses, signature: envelope.signature,
                                        enrollment: envelope.enrollment, rotations: envelope.rotations))
    }

    /// An IPv4 or IPv6 literal or a DNS name: letters, digits, `.`, `-`, `:`; at most 253 bytes.
    static func isSafeHost(_ host: String) -> Bool {
        let bytes = host.utf8
        guard !bytes.isEmpty, bytes.count <= 253, bytes.first != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") || b == UInt8(ascii: ":")
        }
    }

    static func isNumericAddress(_ text: String) -> Bool {
        guard text.utf8.count <= 45 else { return false }
        return ProbeAddress(text) != nil
    }
}
