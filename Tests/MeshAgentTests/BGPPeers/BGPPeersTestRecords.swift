import XCTest
@testable import MeshAgent

/// Records for the peers-file tests: `nodeN` on 198.51.100.N (and 2001:db8::N), AS 65000.
enum BGPPeersTestRecords {
    static let key = try! RegistryTestRecords.key("node1")

    static func record(_ index: Int, role: String? = nil, asn: UInt32? = 65000, address: String? = nil) -> NodeRecord {
        NodeRecord(name: "node\(index)", underlay: .init(addresses: ["192.0.2.\(index)"], port: 655),
                   overlay: .init(addresses: [address ?? "198.51.100.\(index)", "2001:db8::\(index)"], subnets: []),
                   bgp: .init(asn: asn, routerID: "192.0.2.\(index)", role: role), publicKey: key)
    }

    static func records(_ indices: [Int], reflectors: Set<Int> = []) -> [NodeRecord] {
        indices.map { record($0, role: reflectors.contains($0) ? "reflector" : nil) }
    }
}
