import BIRDControl
import Foundation
import XCTest

/// `show protocols all` from `make bench-bird`'s route-server config (BIRD 2.0.12, captured with
/// `CAPTURE=dir CAPTURE_ONLY=1 CASES=rs scripts/bench-bird.sh`), trimmed to its first 60 BGP
/// protocols: 40 sessions answered by a second BIRD (even: IPv4; odd: IPv6 with both channels),
/// filters that refuse half the routes with `import keep filtered on`, receive limits, BFD,
/// one disabled protocol, descriptions with single quotes, backslashes and non-ASCII text.
/// (BIRD 2.0.12's config strings cannot hold a double quote.)
final class BIRDRouteServerFixtureTests: XCTestCase {
    /// The capture ran on 2026-12-06 at about 10:16:45 UTC.
    static let context = BIRDTimeContext(timeZone: Fixture.utc, now: Fixture.date("2026-12-06 10:17:00"))

    private func parse() throws -> BIRDProtocolList {
        try BIRDProtocolList.parse(Fixture.reply("show-protocols-all-route-server.txt"), time: Self.context)
    }

    func testEveryProtocolAndLineIsRecognized() throws {
        let list = try parse()
        XCTAssertEqual(list.unrecognizedLines, 0)
        XCTAssertEqual(list.protocols.map(\.name), ["device1", "bfd1"] + (0..<60).map { "as\(4_200_000_000 + $0)" })
        let bgp = list.protocols.filter { $0.kind == .bgp }
        XCTAssertEqual(bgp.count, 60)
        XCTAssertEqual(bgp.filter { $0.bgp?.state == .established }.map(\.name), (0..<40).map { "as\(4_200_000_000 + $0)" })
        XCTAssertEqual(bgp.filter { $0.state == .down }.map(\.name), ["as4200000050"])
        XCTAssertTrue(bgp.allSatisfy { $0.bgp?.localAS == 65000 })
        XCTAssertTrue(bgp.allSatisfy { $0.description != nil })
    }

    func testDescriptionsKeepQuotesBackslashesAndUTF8() throws {
        let list = try parse()
        XCTAssertEqual(list["as4200000000"]?.description, "AS4200000000 'Zürich IX' — peer #0, C:\\rs\\0")
        XCTAssertEqual(list["as4200000003"]?.description, "AS4200000003 '東京 IX' — peer #3, C:\\rs\\3")
        XCTAssertEqual(list["as4200000004"]?.description, "AS4200000004 'Москва IX' — peer #4, C:\\rs\\4")
        XCTAssertEqual(list["as4200000005"]?.description, "AS4200000005 'İstanbul IX' — peer #5, C:\\rs\\5")
    }

    func testIPv4SessionWithFilteredRoutesAndLimit() throws {
        let p = try XCTUnwrap(parse()["as4200000000"])
        XCTAssertEqual(p.state, .up)
        XCTAssertEqual(p.sinceText, "10:16:37.014")
        XCTAssertDate(p.since, Fixture.date("2026-12-06 10:16:37.014"))
        let bgp = try XCTUnwrap(p.bgp)
        XCTAssertEqual(bgp.state, .established)
        XCTAssertEqual(bgp.neighborAddress, "192.0.2.10")
        XCTAssertEqual(bgp.neighborAS, 4_200_000_000)
        XCTAssertEqual(bgp.neighborID, "192.0.2.9")
        XCTAssertEqual(bgp.sourceAddress, "192.0.2.100")
        XCTAssertEqual(bgp.holdTimer, BIRDTimer(remaining: 186.906, configured: 240))
        XCTAssertEqual(bgp.keepaliveTimer, BIRDTimer(remaining: 68.353, configured: 80))
        XCTAssertEqual(bgp.localCapabilities?.map(\.name), ["Multiprotocol", "Route refresh", "Graceful restart", "4-octet AS numbers", "Enhanced refresh", "Long-lived graceful restart"])
        XCTAssertEqual(p.channels.map(\.name), ["ipv4"])
        let c = try XCTUnwrap(p.channel("ipv4"))
        XCTAssertEqual(c.state, .up)
        XCTAssertEqual(c.inputFilter, "rs_in4")
        XCTAssertEqual(c.outputFilter, "rs_out")
        XCTAssertEqual(c.receiveLimit, BIRDChannelLimit(limit: 5000, hit: false, action: .restart))
        XCTAssertEqual(c.routes, BIRDRouteCounters(imported: 32, filtered: 32, exported: 0, preferred: 32))
        let stats = try XCTUnwrap(c.stats)
        XCTAssertEqual(stats.importUpdates, BIRDRouteChangeRow(received: 64, rejected: 0, filtered: 32, ignored: 0, accepted: 32))
        XCTAssertEqual(stats.importWithdraws, BIRDRouteChangeRow(received: 0, rejected: 0, filtered: nil, ignored: 32, accepted: 0))
        XCTAssertEqual(stats.exportUpdates, BIRDRouteChangeRow(received: 96, rejected: 32, filtered: 0, ignored: nil, accepted: 64))
        XCTAssertEqual(stats.exportWithdraws, BIRDRouteChangeRow(received: 0, rejected: nil, filtered: nil, ignored: nil, accepted: 32))
        XCTAssertEqual(c.bgpNextHop, ["192.0.2.100"])
    }

    func testMultiprotocolSessionHasBothChannels() throws {
        let p = try XCTUnwrap(parse()["as4200000001"])
        XCTAssertEqual(p.bgp?.neighborAddress, "2001:db8::b")
        XCTAssertEqual(p.bgp?.sourceAddress, "2001:db8::65")
        XCTAssertEqual(p.channels.map(\.name), ["ipv4", "ipv6"])
        XCTAssertEqual(p.channel("ipv4")?.routes, BIRDRouteCounters(imported: 32, filtered: 32, exported: 32, preferred: 0))
        XCTAssertEqual(p.channel("ipv4")?.bgpNextHop, ["192.0.2.1"])
        let v6 = try XCTUnwrap(p.channel("ipv6"))
        XCTAssertEqual(v6.table, "master6")
        XCTAssertEqual(v6.inputFilter, "rs_in6")
        XCTAssertEqual(v6.outputFilter, "REJECT")
        XCTAssertEqual(v6.routes, BIRDRouteCounters(imported: 32, filtered: 32, exported: 0, preferred: 32))
        XCTAssertEqual(v6.stats?.exportUpdates, BIRDRouteChangeRow(received: 96, rejected: 32, filtered: 64, ignored: nil, accepted: 0))
        XCTAssertEqual(v6.bgpNextHop, ["2001:db8::65", "fe80::ac5c:f7ff:fed7:7881"])
        XCTAssertNil(v6.receiveLimit)
    }

    func testUnansweredAndDisabledSessions() throws {
        let list = try parse()
        let idle = try XCTUnwrap(list["as4200000042"])
        XCTAssertEqual(idle.state, .start)
        XCTAssertEqual(idle.info, "Idle")
        XCTAssertEqual(idle.bgp?.state, .idle)
        XCTAssertEqual(idle.bgp?.neighborAddress, "198.51.100.43")
        XCTAssertNil(idle.bgp?.lastError)
        XCTAssertEqual(idle.channel("ipv4")?.state, .down)
        XCTAssertEqual(idle.channel("ipv4")?.receiveLimit, BIRDChannelLimit(limit: 5000, hit: false, action: .restart))
        // No counts while a channel is down.
        XCTAssertNil(idle.channel("ipv4")?.routes)
        XCTAssertNil(idle.channel("ipv4")?.stats)
        let disabled = try XCTUnwrap(list["as4200000050"])
        XCTAssertEqual(disabled.state, .down)
        XCTAssertEqual(disabled.info, "")
        XCTAssertEqual(disabled.bgp?.state, .down)
        XCTAssertEqual(disabled.channels.map(\.name), ["ipv4", "ipv6"])
        XCTAssertEqual(disabled.channels.map(\.state), [.down, .down])
    }
}
