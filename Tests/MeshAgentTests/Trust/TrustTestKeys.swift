import Foundation
@testable import MeshAgent
import TincControl

/// Keys made by `tincd -K 2048` (TincControlTests' Fixtures/tinc-keys, scripts/capture-tinc-keys.sh) and records
/// signed with them, for the trust tests.
enum TrustTestKeys {
    static func privateKey(_ name: String) throws -> TincRSAPrivateKey {
        try TincRSAPrivateKey(pemText: try Fixture.tincKeyText("\(name)/rsa_key.priv"))
    }

    static func publicKey(_ name: String) throws -> TincRSAPublicKey {
        try TincRSAPublicKey(pemText: try Fixture.tincKeyText("\(name)/\(name).pub"))
    }

    /// A record for `name` carrying the public key of `keyName`.
    static func record(_ name: String, key keyName: String? = nil) throws -> NodeRecord {
        NodeRecord(name: name,
                   underlay: .init(addresses: ["192.0.2.10"], port: 655),
                   overlay: .init(addresses: ["198.51.100.10"], subnets: ["198.51.100.10/32"]),
                   bgp: .init(asn: 64512, routerID: "198.51.100.10"),
                   publicKey: try publicKey(keyName ?? name), agentVersion: "0.1.0-test")
    }

    /// A temporary directory; the caller removes it.
    static func temporaryDirectory(_ tag: String) throws -> String {
        let path = "/tmp/bgpmesh-trust-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }
}
