import EtcdClient
import Foundation
@testable import MeshAgent
import TincControl
import XCTest

/// A peer's side of a key rotation against a real etcd: the pin moves along the signed chain,
/// the host file is installed without asking tincd to reload (and keeps its mtime), and the
/// peer acknowledges the new key in its own signed record until the rotation is old.
extension RegistrySyncTests {
    /// node2's record carrying `key`'s public key, with `chain`, signed by `key` (as node2's
    /// agent publishes it during a rotation).
    func rotatedRecord(_ key: String, chain: [RotationStatement]) throws -> [UInt8] {
        var record = try RegistryTestRecords.record("node2", key: key)
        record.overlay = .init(addresses: [], subnets: [])
        return try SignedRecord.sign(record, with: RegistryTestRecords.privateKey(key), rotations: chain).encoded()
    }

    func ownRecord(_ node: String, _ client: EtcdClient) async throws -> NodeRecord? {
        guard let kv = try await client.get(prefix + "nodes/" + node) else { return nil }
        return try SignedRecord.decode(kv.value).record
    }

    func testARotatedPeerKeyIsInstalledWithoutReloadAndAcknowledged() async throws {
        for name in ["node1", "node2", "node3"] { _ = try makeNode(name) }
        for name in ["node1", "node2", "node3"] { try start(name) }
        try await eventually("every node has every host file") {
            ["node1", "node3"].allSatisfy { hostNames($0) == ["node1", "node2", "node3"] }
        }
        // node2's agent stops (it would put back the record its host file describes); the
        // test publishes what node2's rotation publishes: the new key and k2 -> k4 by k2.
        await stop("node2")
        try await roundsPass("node1")
        clock.advance(by: .seconds(30))
        let lastChange = metrics("node1").lastChange
        let mtimeBefore = mtime("node1", "hosts/node2")
        let k4 = try RegistryTestRecords.key("node4").fingerprintSHA256
        let issued = Int64(clock.clock.date().timeIntervalSince1970)
        let statement = try RotationStatement.sign(name: "node2", from: RegistryTestRecords.privateKey("node2"),
                                                   toFingerprintSHA256: k4, issuedAt: issued)
        let client = try etcd()
        defer { client.shutdown() }
        _ = try await client.put(prefix + "nodes/node2", value: try rotatedRecord("node4", chain: [statement]))

        for peer in ["node1", "node3"] {
            try await eventually("\(peer) holds node2's new key") {
                (try? TincHostFile(name: "node2", text: file(peer, "hosts/node2") ?? "").publicKey) == (try? RegistryTestRecords.key("node4"))
            }
            try await eventually("\(peer) moved its pin") {
                let pin = (try? PinStore.load(directory: stateDirectory(peer)))?["node2"]
                return pin?.fingerprintSHA256 == k4 && pin?.source == .rotation
            }
            try await eventuallyAsync("\(peer) acknowledges k4 in its own record") {
                (try? await ownRecord(peer, client))?.keyAcks == ["node2": k4]
            }
        }
        XCTAssertEqual((try PinStore.load(directory: stateDirectory("node1")))["node2"]?.fingerprintSHA256, k4)
        XCTAssertEqual(metrics("node1").lastChange, lastChange, "the rotated key made the agent ask tincd to reload")
        XCTAssertEqual(mtime("node1", "hosts/node2"), mtimeBefore, "the rotated host file must keep its mtime")
        XCTAssertEqual(metrics("node1").keyChanges, 1)
        XCTAssertEqual(metrics("node1").rejected.values.reduce(0, +), 0)

        // The ack is signed: the record still passes every peer's checks.
        let kv = try await client.get(prefix + "nodes/node1")
        let check = RegistryRecordCheck.check(name: RegistryTestRecords.name("node1"), value: try XCTUnwrap(kv).value, rules: RegistryTestRecords.rules)
        guard case .success(let valid) = check else { return XCTFail("\(check)") }
        XCTAssertEqual(TrustDecision.decide(record: valid.record, key: valid.key, signature: valid.signature,
                                            pin: nil, adminKey: nil, enrollment: nil, now: issued),
                       .accept(newPin: Pin(fingerprintSHA256: valid.key.fingerprintSHA256, pinnedAt: issued, source: .firstUse)))

        // A second rotation (k4 -> k3) reaches a peer whose agent was down for the first one.
        await stop("node3")
        let second = try RotationStatement.sign(name: "node2", from: RegistryTestRecords.privateKey("node4"),
                                                toFingerprintSHA256: try RegistryTestRecords.key("node3").fingerprintSHA256, issuedAt: issued + 1)
        // node3's key as node2's third key: node2's record must not collide with node3's
        // subnets, and the fixture records give node2 its own.
        _ = try await client.put(prefix + "nodes/node2", value: try rotatedRecord("node3", chain: [statement, second]))
        try await eventually("node1 follows the second rotation") {
            (try? TincHostFile(name: "node2", text: file("node1", "hosts/node2") ?? "").publicKey) == (try? RegistryTestRecords.key("node3"))
        }

        // Once the rotation is older than the ack lifetime (4 min by default), the ack goes.
        clock.advance(by: .seconds(300))
        try await eventuallyAsync("node1's record drops the ack") {
            (try? await ownRecord("node1", client))?.keyAcks == [:]
        }
    }
}
