import EtcdClient
@testable import MeshAgent
import TincControl

/// Registry views built from the fixture records (real `tincd -K` keys), for the pure pieces' tests.
enum RegistryTestRecords {
    static let prefix = "/bgpmesh/test/"

    static func name(_ text: String) -> TincNodeName { TincNodeName(text)! }

    /// A fixture node's public key (`tincd -K`, Fixtures/registry/hosts).
    static func key(_ node: String) throws -> TincRSAPublicKey {
        try TincRSAPublicKey(pemText: try Fixture.text("registry/hosts/\(node)"))
    }

    /// A fixture node's private key (`tincd -K`, Fixtures/registry/keys).
    static func privateKey(_ node: String) throws -> TincRSAPrivateKey {
        try TincRSAPrivateKey(pemText: try Fixture.text("registry/keys/\(node)/rsa_key.priv"))
    }

    /// The overlay prefixes of the tests (the lab's: documentation ranges).
    static let overlayPrefixes = ["198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"].compactMap { IPPrefix($0) }

    static let rules = RegistryRecordCheck.Rules(maxBytes: 64 << 10, overlayPrefixes: overlayPrefixes, maxSubnets: 16)

    /// A valid record for `node` (`nodeN`: overlay 198.51.100.N and 2001:db8::N, subnet
    /// 203.0.113.N/32), optionally carrying another fixture node's key.
    static func record(_ node: String, key keyNode: String? = nil) throws -> NodeRecord {
        let n = Int(node.filter(\.isNumber)) ?? 99
        return NodeRecord(name: node, underlay: .init(addresses: ["192.0.2.1\(n)"], port: 655),
                          overlay: .init(addresses: ["198.51.100.\(n)", "2001:db8::\(n)"], subnets: ["203.0.113.\(n)/32"]),
                          bgp: .init(asn: 65000, routerID: "192.0.2.1\(n)"), publicKey: try key(keyNode ?? node), agentVersion: "0.1.0")
    }

    /// `record` as published: signed by the private key of `signer` (default: the key it carries).
    static func signed(_ record: NodeRecord, by signer: String? = nil) throws -> [UInt8] {
        let keyNode = try signer ?? ["node1", "node2", "node3", "node4"].first { try key($0).fingerprintSHA256 == record.fingerprintSHA256 } ?? record.name
        return try SignedRecord.sign(record, with: privateKey(keyNode)).encoded()
    }

    static func put(_ node: String, key keyNode: String? = nil, revision: Int64 = 0) throws -> EtcdKeyValue {
        EtcdKeyValue(key: Array((prefix + "nodes/" + node).utf8), value: try signed(record(node, key: keyNode)),
                     createRevision: revision, modRevision: revision)
    }

    static func alive(_ node: String) -> EtcdKeyValue {
        EtcdKeyValue(key: Array((prefix + "alive/" + node).utf8), value: Array("0.1.0".utf8), lease: 7)
    }

    /// A view holding a record for each of `nodes`, with `alive` of them holding their alive key.
    static func view(_ nodes: [String], alive: [String] = []) throws -> RegistryView {
        var view = RegistryView(prefix: prefix, rules: rules)
        _ = view.reset(try nodes.map { try put($0) } + alive.map(Self.alive), revision: 10, now: 0)
        return view
    }
}
