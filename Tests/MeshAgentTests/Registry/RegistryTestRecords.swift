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

    /// A valid record for `node`, optionally carrying another fixture node's key.
    static func record(_ node: String, key keyNode: String? = nil) throws -> NodeRecord {
        NodeRecord(name: node, underlay: .init(addresses: ["192.0.2.12"], port: 655),
                   overlay: .init(addresses: ["198.51.100.2", "2001:db8::2"], subnets: ["203.0.113.2/32"]),
                   bgp: .init(asn: 65000, routerID: "192.0.2.12"), publicKey: try key(keyNode ?? node), agentVersion: "0.1.0")
    }

    static func put(_ node: String) throws -> EtcdKeyValue {
        EtcdKeyValue(key: Array((prefix + "nodes/" + node).utf8), value: try RegistryTestRecords.record(node).encoded())
    }

    static func alive(_ node: String) -> EtcdKeyValue {
        EtcdKeyValue(key: Array((prefix + "alive/" + node).utf8), value: Array("0.1.0".utf8), lease: 7)
    }

    /// A view holding a record for each of `nodes`, with `alive` of them holding their alive key.
    static func view(_ nodes: [String], alive: [String] = []) throws -> RegistryView {
        var view = RegistryView(prefix: prefix, maxRecordBytes: 64 << 10)
        _ = view.reset(try nodes.map(put) + alive.map(Self.alive), revision: 10)
        return view
    }
}
