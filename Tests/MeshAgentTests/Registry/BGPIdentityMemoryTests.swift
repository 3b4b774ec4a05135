import BIRDControl
import Foundation
@testable import MeshAgent
import XCTest

/// The record's BGP fields survive BIRD going away: no republish on every BIRD restart.
final class BGPIdentityMemoryTests: XCTestCase {
    func testBIRDDownKeepsTheLastKnownRouterIDAndAS() throws {
        let memory = BGPIdentityMemory()
        let up = try Fixture.birdSnapshot()
        let known = memory.update(from: up)
        XCTAssertEqual(known, LocalNode.bgp(from: up))
        XCTAssertNotNil(known.routerID)
        XCTAssertNotNil(known.asn)
        // The sampler's snapshot after a lost connection: no status, no protocols.
        let down = BIRDSnapshot(collectedAt: Date())
        XCTAssertEqual(memory.update(from: down), known)
        XCTAssertEqual(memory.update(from: nil), known)
    }

    func testNothingKnownYetGivesEmptyFields() {
        let memory = BGPIdentityMemory()
        XCTAssertEqual(memory.update(from: nil), NodeRecord.BGP(asn: nil, routerID: nil))
    }

    func testAnAnsweringBIRDIsTheTruthEvenWithoutBGP() throws {
        let memory = BGPIdentityMemory()
        _ = memory.update(from: try Fixture.birdSnapshot())
        var noBGP = try Fixture.birdSnapshot()
        noBGP.protocols = BIRDProtocolList(protocols: [])
        XCTAssertNil(memory.update(from: noBGP).asn, "BIRD answered without BGP protocols: the AS is gone")
    }
}
