import BIRDControl
import XCTest

final class BIRDProtocolListParserTests: XCTestCase {
    private func parse(_ name: String) throws -> BIRDProtocolList {
        try BIRDProtocolList.parse(Fixture.reply(name), time: Fixture.context)
    }

    private let names = ["device1", "direct1", "kernel4", "kernel6", "static4", "static6", "roas", "flows", "vpns", "p_extra",
                         "bfd1", "ospf1", "babel1", "rpki1", "peer_b", "peer_b_v6", "dead_peer", "passive_peer", "mh_peer", "disabled_peer"]

    func testAllProtocolsAndKinds() throws {
        let list = try parse("show-protocols-all.txt")
        XCTAssertEqual(list.protocols.map(\.name), names)
        XCTAssertEqual(list.unrecognizedLines, 0)
        XCTAssertEqual(list.protocols.map(\.kind), [.device, .direct, .kernel, .kernel, .static, .static, .static, .static, .static, .pipe,
                                                   .bfd, .ospf, .babel, .rpki, .bgp, .bgp, .bgp, .bgp, .bgp, .bgp])
        XCTAssertTrue(list.protocols.allSatisfy(\.hasDetails))
        XCTAssertTrue(list.protocols.filter { $0.kind != .bgp }.allSatisfy { $0.bgp == nil })
        XCTAssertTrue(list.protocols.filter { $0.kind != .rpki }.allSatisfy { $0.rpki == nil })
        let device = try XCTUnwrap(list["device1"])
        XCTAssertEqual(device.proto, "Device")
        XCTAssertNil(device.table)
        XCTAssertEqual(device.state, .up)
        XCTAssertEqual(device.info, "")
        XCTAssertTrue(device.channels.isEmpty)
        XCTAssertDate(device.since, Fixture.date("2026-11-30 08:03:59.779"))
        XCTAssertEqual(device.sinceText, "08:03:59.779")
        XCTAssertEqual(list["kernel4"]?.table, "master4")
        XCTAssertEqual(list["ospf1"]?.info, "Alone")
        XCTAssertEqual(list["bfd1"]?.channels, [])
    }

    func testDirectChannelsAndStatsTable() throws {
        let direct = try XCTUnwrap(parse("show-protocols-all.txt")["direct1"])
        XCTAssertEqual(direct.channels.map(\.name), ["ipv4", "ipv6"])
        let ipv4 = try XCTUnwrap(direct.channel("ipv4"))
        XCTAssertEqual(ipv4.state, .up)
        XCTAssertEqual(ipv4.table, "master4")
        XCTAssertEqual(ipv4.preference, 240)
        XCTAssertEqual(ipv4.inputFilter, "ACCEPT")
        XCTAssertEqual(ipv4.outputFilter, "REJECT")
        XCTAssertEqual(ipv4.routes, BIRDRouteCounters(imported: 1, filtered: nil, exported: 0, preferred: 1))
        let stats = try XCTUnwrap(ipv4.stats)
        XCTAssertEqual(stats.importUpdates, BIRDRouteChangeRow(received: 1, rejected: 0, filtered: 0, ignored: 0, accepted: 1))
        XCTAssertEqual(stats.importWithdraws, BIRDRouteChangeRow(received: 0, rejected: 0, filtered: nil, ignored: 0, accepted: 0))
        XCTAssertEqual(stats.exportUpdates, BIRDRouteChangeRow(received: 0, rejected: 0, filtered: 0, ignored: nil, accepted: 0))
        XCTAssertEqual(stats.exportWithdraws, BIRDRouteChangeRow(received: 0, rejected: nil, filtered: nil, ignored: nil, accepted: 0))
        XCTAssertNil(ipv4.receiveLimit)
        XCTAssertEqual(ipv4.otherFields, [:])
    }

    func testChannelsOtherThanIPKeepTheirNames() throws {
        let list = try parse("show-protocols-all.txt")
        XCTAssertEqual(list["roas"]?.channels.map(\.name), ["roa4"])
        XCTAssertEqual(list["roas"]?.channel("roa4")?.table, "r4")
        XCTAssertEqual(list["flows"]?.channels.map(\.name), ["flow4"])
        XCTAssertEqual(list["flows"]?.channel("flow4")?.table, "f4")
        XCTAssertEqual(list["vpns"]?.channels.map(\.name), ["vpn4"])
        XCTAssertEqual(list["peer_b_v6"]?.channels.map(\.name), ["ipv6", "vpn4-mpls"])
        let vpn = try XCTUnwrap(list["peer_b_v6"]?.channel("vpn4-mpls"))
        XCTAssertEqual(vpn.table, "v4")
        XCTAssertEqual(vpn.routes, BIRDRouteCounters(imported: 0, filtered: nil, exported: 1, preferred: 0))
        XCTAssertEqual(vpn.stats?.exportUpdates, BIRDRouteChangeRow(received: 1, rejected: 0, filtered: 0, ignored: nil, accepted: 1))
        XCTAssertEqual(vpn.bgpNextHop, ["192.0.2.201"])
        let kernel4 = try XCTUnwrap(list["kernel4"]?.channel("ipv4"))
        XCTAssertEqual(kernel4.stats?.exportUpdates, BIRDRouteChangeRow(received: 9, rejected: 0, filtered: 9, ignored: nil, accepted: 0))
        XCTAssertEqual(kernel4.inputFilter, "REJECT")
        XCTAssertEqual(list["ospf1"]?.channel("ipv4")?.preference, 150)
        XCTAssertEqual(list["babel1"]?.channel("ipv6")?.preference, 130)
    }

    func testPipeChannelMain() throws {
        let pipe = try XCTUnwrap(parse("show-protocols-all.txt")["p_extra"])
        XCTAssertEqual(pipe.kind, .pipe)
        XCTAssertEqual(pipe.info, "master4 <=> extra4")
        XCTAssertEqual(pipe.channels.map(\.name), ["main"])
        let main = try XCTUnwrap(pipe.channel("main"))
        XCTAssertNil(main.state)
        XCTAssertNil(main.preference)
        XCTAssertEqual(main.table, "master4")
        XCTAssertEqual(main.peerTable, "extra4")
        XCTAssertEqual(main.importState, "up")
        XCTAssertEqual(main.exportState, "up")
        XCTAssertEqual(main.inputFilter, "REJECT")
        XCTAssertEqual(main.outputFilter, "ACCEPT")
        XCTAssertEqual(main.routes, BIRDRouteCounters(imported: 0, filtered: nil, exported: 8, preferred: nil))
        XCTAssertEqual(main.stats?.importUpdates, BIRDRouteChangeRow(received: 11, rejected: 11, filtered: 0, ignored: 0, accepted: 0))
        XCTAssertEqual(main.stats?.exportUpdates, BIRDRouteChangeRow(received: 9, rejected: 0, filtered: 0, ignored: 1, accepted: 8))
        XCTAssertEqual(main.stats?.exportWithdraws, BIRDRouteChangeRow(received: 0, rejected: 0, filtered: nil, ignored: 0, accepted: 0))
    }

    func testRPKI() throws {
        let rpki = try XCTUnwrap(parse("show-protocols-all.txt")["rpki1"])
        XCTAssertEqual(rpki.state, .start)
        XCTAssertEqual(rpki.info, "Transport-Error")
        let info = try XCTUnwrap(rpki.rpki)
        XCTAssertEqual(info.cacheServer, "127.0.0.1")
        XCTAssertEqual(info.cachePort, 3323)
        XCTAssertEqual(info.status, "Transport-Error")
        XCTAssertEqual(info.transport, "Unprotected over TCP")
        XCTAssertEqual(info.protocolVersion, 1)
        XCTAssertNil(info.sessionID)
        XCTAssertNil(info.serialNumber)
        XCTAssertNil(info.lastUpdateAge)
        XCTAssertNil(info.refreshTimer)
        XCTAssertEqual(info.retryTimer, BIRDTimer(remaining: 286.196, configured: 300))
        XCTAssertNil(info.expireTimer)
        XCTAssertEqual(rpki.timers, ["Retry timer": BIRDTimer(remaining: 286.196, configured: 300)])
        XCTAssertEqual(rpki.channels.map(\.name), ["roa4"])
        XCTAssertEqual(rpki.channel("roa4")?.state, .down)
        XCTAssertNil(rpki.channel("roa4")?.routes)
        XCTAssertNil(rpki.channel("roa4")?.stats)
        XCTAssertNil(rpki.bgp)
    }

    func testEstablishedIBGPSession() throws {
        let peer = try XCTUnwrap(parse("show-protocols-all.txt")["peer_b"])
        XCTAssertEqual(peer.description, "iBGP to node b over the veth")
        XCTAssertEqual(peer.state, .up)
        XCTAssertEqual(peer.info, "Established")
        XCTAssertDate(peer.since, Fixture.date("2026-11-30 08:04:03.639"))
        let bgp = try XCTUnwrap(peer.bgp)
        XCTAssertEqual(bgp.state, .established)
        XCTAssertEqual(bgp.neighborAddress, "192.0.2.202")
        XCTAssertNil(bgp.neighborInterface)
        XCTAssertEqual(bgp.neighborAS, 65000)
        XCTAssertEqual(bgp.localAS, 65000)
        XCTAssertEqual(bgp.neighborID, "192.0.2.202")
        XCTAssertEqual(bgp.sourceAddress, "192.0.2.201")
        let session = try XCTUnwrap(bgp.session)
        XCTAssertTrue(session.isInternal)
        XCTAssertTrue(session.multihop)
        XCTAssertTrue(session.as4)
        XCTAssertFalse(session.routeReflector)
        XCTAssertFalse(session.routeServer)
        XCTAssertEqual(session.text, "internal multihop AS4")
        XCTAssertEqual(bgp.holdTimer, BIRDTimer(remaining: 61.443, configured: 90))
        XCTAssertEqual(bgp.holdTimer?.configured, 90)
        XCTAssertEqual(bgp.keepaliveTimer, BIRDTimer(remaining: 19.406, configured: 30))
        XCTAssertEqual(peer.timers["Hold timer"], bgp.holdTimer)
        XCTAssertNil(bgp.connectDelay)
        XCTAssertNil(bgp.lastError)
        XCTAssertEqual(bgp.localCapabilities?.map(\.name), ["Multiprotocol", "Route refresh", "Graceful restart", "4-octet AS numbers",
                                                          "Enhanced refresh", "Long-lived graceful restart"])
        XCTAssertEqual(bgp.localCapabilities?.announcedAddressFamilies, ["ipv4", "ipv6"])
        XCTAssertEqual(bgp.neighborCapabilities?.announcedAddressFamilies, ["ipv4", "ipv6"])

        XCTAssertEqual(peer.channels.map(\.name), ["ipv4", "ipv6"])
        let ipv4 = try XCTUnwrap(peer.channel("ipv4"))
        XCTAssertEqual(ipv4.state, .up)
        XCTAssertEqual(ipv4.routes, BIRDRouteCounters(imported: 4, filtered: 0, exported: 3, preferred: 3))
        XCTAssertEqual(ipv4.receiveLimit, BIRDChannelLimit(limit: 2000, hit: false, action: .disable))
        XCTAssertEqual(ipv4.importLimit, BIRDChannelLimit(limit: 1000, hit: false, action: .warn))
        XCTAssertEqual(ipv4.exportLimit, BIRDChannelLimit(limit: 500, hit: false, action: .block))
        XCTAssertEqual(ipv4.stats?.importUpdates, BIRDRouteChangeRow(received: 4, rejected: 0, filtered: 0, ignored: 0, accepted: 4))
        XCTAssertNil(ipv4.stats?.importWithdraws.filtered)
        XCTAssertEqual(ipv4.stats?.importWithdraws.received, 0)
        XCTAssertEqual(ipv4.stats?.exportUpdates, BIRDRouteChangeRow(received: 6, rejected: 3, filtered: 0, ignored: nil, accepted: 3))
        XCTAssertEqual(ipv4.bgpNextHop, ["192.0.2.201"])
        XCTAssertEqual(ipv4.igpTableIPv4, "master4")
        let ipv6 = try XCTUnwrap(peer.channel("ipv6"))
        XCTAssertEqual(ipv6.inputFilter, "(unnamed)")
        XCTAssertEqual(ipv6.routes, BIRDRouteCounters(imported: 2, filtered: nil, exported: 3, preferred: 1))
        XCTAssertEqual(ipv6.stats?.importUpdates, BIRDRouteChangeRow(received: 3, rejected: 0, filtered: 1, ignored: 0, accepted: 2))
        XCTAssertEqual(ipv6.bgpNextHop, ["2001:db8:ca::1"])
        XCTAssertEqual(ipv6.igpTableIPv6, "master6")
    }

    func testEstablishedEBGPSession() throws {
        let peer = try XCTUnwrap(parse("show-protocols-all.txt")["peer_b_v6"])
        let bgp = try XCTUnwrap(peer.bgp)
        XCTAssertEqual(bgp.neighborAddress, "2001:db8:ca::2")
        XCTAssertEqual(bgp.neighborAS, 65001)
        XCTAssertEqual(bgp.session?.isInternal, false)
        XCTAssertEqual(bgp.session?.multihop, false)
        XCTAssertEqual(bgp.session?.as4, true)
        XCTAssertEqual(bgp.holdTimer, BIRDTimer(remaining: 180.068, configured: 240))
        XCTAssertEqual(bgp.keepaliveTimer, BIRDTimer(remaining: 56.659, configured: 80))
        XCTAssertEqual(bgp.neighborCapabilities?.announcedAddressFamilies, ["vpn4-mpls", "ipv6"])
        XCTAssertEqual(peer.channel("ipv6")?.bgpNextHop, ["2001:db8:ca::1", "fe80::4496:4cff:fe10:9307"])
        XCTAssertEqual(peer.channel("ipv6")?.stats?.importWithdraws, BIRDRouteChangeRow(received: 1, rejected: 0, filtered: nil, ignored: 1, accepted: 0))
        XCTAssertNil(peer.description)
    }

    func testSessionsThatAreNotEstablished() throws {
        let list = try parse("show-protocols-all.txt")
        let dead = try XCTUnwrap(list["dead_peer"])
        XCTAssertEqual(dead.state, .start)
        XCTAssertEqual(dead.info, "Connect       Socket: No route to host")
        XCTAssertEqual(dead.description, "nobody lives here")
        XCTAssertEqual(dead.bgp?.state, .connect)
        XCTAssertEqual(dead.bgp?.lastError, "Socket: No route to host")
        XCTAssertNil(dead.bgp?.holdTimer)
        XCTAssertNil(dead.bgp?.neighborID)
        XCTAssertNil(dead.bgp?.localCapabilities)
        XCTAssertEqual(dead.channel("ipv4")?.state, .down)
        XCTAssertNil(dead.channel("ipv4")?.routes)
        XCTAssertNil(dead.channel("ipv4")?.stats)

        let passive = try XCTUnwrap(list["passive_peer"])
        XCTAssertEqual(passive.bgp?.state, .passive)
        XCTAssertEqual(passive.info, "Passive")
        XCTAssertNil(passive.bgp?.lastError)
        XCTAssertEqual(passive.bgp?.neighborAS, 65002)

        let multihop = try XCTUnwrap(list["mh_peer"])
        XCTAssertEqual(multihop.bgp?.state, .active)
        XCTAssertEqual(multihop.bgp?.connectDelay, BIRDTimer(remaining: 4.293, configured: 5))
        XCTAssertEqual(multihop.timers, ["Connect delay": BIRDTimer(remaining: 4.293, configured: 5)])
        XCTAssertEqual(multihop.bgp?.lastError, "Socket: Network is unreachable")

        let disabled = try XCTUnwrap(list["disabled_peer"])
        XCTAssertEqual(disabled.state, .down)
        XCTAssertEqual(disabled.bgp?.state, .down)
        XCTAssertEqual(disabled.info, "")
        XCTAssertNil(disabled.bgp?.lastError)
    }

    func testPeerAfterTheOtherSideDied() throws {
        let list = try parse("show-protocols-all-peer_b-after-peer-died.txt")
        XCTAssertEqual(list.protocols.count, 1)
        let peer = try XCTUnwrap(list["peer_b"])
        XCTAssertEqual(peer.state, .start)
        XCTAssertEqual(peer.info, "Active        Received: Administrative shutdown")
        XCTAssertDate(peer.since, Fixture.date("2026-11-30 08:04:40.785"))
        XCTAssertEqual(peer.bgp?.state, .active)
        XCTAssertEqual(peer.bgp?.connectDelay, BIRDTimer(remaining: 1.871, configured: 5))
        XCTAssertEqual(peer.bgp?.lastError, "Received: Administrative shutdown")
        XCTAssertEqual(peer.channels.map(\.name), ["ipv4", "ipv6"])
        XCTAssertEqual(peer.channel("ipv4")?.importLimit, BIRDChannelLimit(limit: 1000, hit: false, action: .warn))
        XCTAssertNil(peer.channel("ipv4")?.routes)
        XCTAssertEqual(list.unrecognizedLines, 0)

        let v6 = try XCTUnwrap(parse("show-protocols-all-peer_b_v6-after-peer-shutdown.txt")["peer_b_v6"])
        XCTAssertEqual(v6.bgp?.connectDelay, BIRDTimer(remaining: 3.517, configured: 5))
        XCTAssertEqual(v6.channels.map(\.name), ["ipv6", "vpn4-mpls"])
        XCTAssertEqual(v6.channel("ipv6")?.outputFilter, "REJECT")
    }

    func testDateOnlySinceColumn() throws {
        let list = try parse("show-protocols-all-timeformat-t-1-f.txt")
        XCTAssertEqual(list.protocols.map(\.name), names)
        XCTAssertEqual(list["device1"]?.sinceText, "2026-11-30")
        XCTAssertDate(list["device1"]?.since, Fixture.date("2026-11-30 00:00:00"))
        XCTAssertDate(list["disabled_peer"]?.since, Fixture.date("2026-11-30 08:04:27"))
        XCTAssertEqual(list["p_extra"]?.info, "master4 <=> extra4")
        XCTAssertEqual(list["peer_b"]?.bgp?.holdTimer, BIRDTimer(remaining: 47.062, configured: 90))
        XCTAssertEqual(list.unrecognizedLines, 0)
    }

    /// The short form under every time format: Since parsed, Info never shifted.
    func testShortFormUnderEveryTimeFormat() throws {
        let cases: [(String, String, String?)] = [
            ("show-protocols.txt", "2026-11-30 08:03:59.779", "2026-11-30 08:04:03.639"),
            ("show-protocols-timeformat-iso-short.txt", "2026-11-30 08:03:59", "2026-11-30 08:04:03"),
            ("show-protocols-timeformat-iso-short-ms.txt", "2026-11-30 08:03:59.779", "2026-11-30 08:04:03.639"),
            ("show-protocols-timeformat-iso-short-us.txt", "2026-11-30 08:03:59.779982", "2026-11-30 08:04:03.639324"),
            ("show-protocols-timeformat-iso-long.txt", "2026-11-30 08:03:59", "2026-11-30 08:04:03"),
            ("show-protocols-timeformat-iso-long-ms.txt", "2026-11-30 08:03:59.779", "2026-11-30 08:04:03.639"),
            ("show-protocols-timeformat-iso-long-us.txt", "2026-11-30 08:03:59.779980", "2026-11-30 08:04:03.639322"),
            ("show-protocols-timeformat-s.txt", "2026-11-30 08:03:59", "2026-11-30 08:04:03"),
            ("show-protocols-timeformat-d-m-y-h-m.txt", "2026-11-30 08:03:00", "2026-11-30 08:04:00"),
            ("show-protocols-timeformat-t-1-f.txt", "2026-11-30 00:00:00", "2026-11-30 00:00:00"),
        ]
        for (name, deviceSince, peerSince) in cases {
            let list = try parse(name)
            XCTAssertEqual(list.protocols.map(\.name), names, name)
            XCTAssertEqual(list.unrecognizedLines, 0, name)
            XCTAssertTrue(list.protocols.allSatisfy { !$0.hasDetails && $0.channels.isEmpty }, name)
            XCTAssertTrue(list.protocols.allSatisfy { $0.since != nil }, name)
            XCTAssertDate(list["device1"]?.since, Fixture.date(deviceSince), accuracy: 0.000002)
            if let peerSince { XCTAssertDate(list["peer_b"]?.since, Fixture.date(peerSince), accuracy: 0.000002) }
            XCTAssertEqual(list["p_extra"]?.info, "master4 <=> extra4", name)
            XCTAssertEqual(list["ospf1"]?.info, "Alone", name)
            XCTAssertEqual(list["rpki1"]?.info, "Transport-Error", name)
            XCTAssertEqual(list["peer_b"]?.info, "Established", name)
            XCTAssertEqual(list["peer_b"]?.bgp?.state, .established, name)
            XCTAssertEqual(list["passive_peer"]?.bgp?.state, .passive, name)
            XCTAssertEqual(list["mh_peer"]?.info, "Active        Socket: Network is unreachable", name)
            XCTAssertEqual(list["mh_peer"]?.bgp?.lastError, "Socket: Network is unreachable", name)
            XCTAssertEqual(list["disabled_peer"]?.info, "", name)
            XCTAssertEqual(list["disabled_peer"]?.state, .down, name)
            XCTAssertEqual(list["kernel4"]?.table, "master4", name)
            XCTAssertNil(list["peer_b"]?.table, name)
        }
    }

    func testLimitsHitLinkLocalNeighborsAndGracefulRestart() throws {
        let lines = [
            "2002-Name       Proto      Table      State  Since         Info",
            "1002-ll_peer    BGP        ---        start  08:03:59.779  Idle          BGP Error: Hold timer expired",
            "1006-  Message:        Restarting",
            "   Router ID:      192.0.2.77",
            "   VRF:            default",
            "   BGP state:          Idle",
            "     Neighbor address: fe80::1%eth0",
            "     Neighbor port:    1179",
            "     Neighbor AS:      4200000000",
            "     Local AS:         65000",
            "     Neighbor graceful restart active",
            "     Error wait:       9.5/10",
            "     Restart timer:    88.125/-",
            "     Last error:       BGP Error: Hold timer expired",
            "     Strange new field: 42",
            "   Channel ipv4",
            "     State:          DOWN",
            "     Table:          master4",
            "     Preference:     100",
            "     Input filter:   my_filter",
            "     Output filter:  REJECT",
            "     GR recovery:    pending waiting",
            "     Import limit:   10 [HIT]",
            "       Action:       restart",
            "     Neighbor GR:    Regular",
            "     LL stale timer: 3.000/-",
            "     Future key:     value",
            " ",
            "1002-up_peer    BGP        ---        up     08:03:59.779  Established   ",
            "1006-  BGP state:          Established",
            "     Neighbor address: 192.0.2.5",
            "     Neighbor AS:      65005",
            "     Local AS:         65000",
            "     Neighbor ID:      192.0.2.5",
            "     Local capabilities",
            "       Multiprotocol",
            "         AF announced: ipv4",
            "       Graceful restart",
            "         Restart time: 120",
            "         Restart recovery",
            "         AF supported: ipv4",
            "         AF preserved:",
            "       Hostname: lab-node",
            "     Neighbor capabilities",
            "       Role: peer",
            "     Session:          external route-server AS4",
            "     Source address:   192.0.2.1",
            "     Hold timer:       1.000/3",
            "     Keepalive timer:  0.333/1",
            "   Channel ipv4",
            "     State:          UP",
            "     Table:          master4",
            "     Preference:     100",
            "     Input filter:   ACCEPT",
            "     Output filter:  ACCEPT",
            "     Routes:         10 imported, 2 filtered, 0 exported, 10 preferred",
            "     Route change stats:     received   rejected   filtered    ignored   accepted",
            "       Import updates:             12          0          2          0         10",
            "       Import withdraws:            0          0        ---          0          0",
            "       Export updates:              0          0          0        ---          0",
            "       Export withdraws:            0        ---        ---        ---          0",
            " this line has no colon",
            " ",
            "0000 ",
        ]
        let text = lines.joined(separator: "\n") + "\n"
        let list = try BIRDProtocolList.parse(BIRDReply(parsing: Array(text.utf8)), time: Fixture.context)
        XCTAssertEqual(list.protocols.map(\.name), ["ll_peer", "up_peer"])
        let ll = try XCTUnwrap(list["ll_peer"])
        XCTAssertEqual(ll.message, "Restarting")
        XCTAssertEqual(ll.routerID, "192.0.2.77")
        XCTAssertEqual(ll.vrf, "default")
        XCTAssertEqual(ll.bgp?.state, .idle)
        XCTAssertEqual(ll.bgp?.neighborAddress, "fe80::1")
        XCTAssertEqual(ll.bgp?.neighborInterface, "eth0")
        XCTAssertEqual(ll.bgp?.neighborPort, 1179)
        XCTAssertEqual(ll.bgp?.neighborAS, 4_200_000_000)
        XCTAssertEqual(ll.bgp?.neighborGracefulRestartActive, true)
        XCTAssertEqual(ll.bgp?.errorWait, BIRDTimer(remaining: 9.5, configured: 10))
        XCTAssertEqual(ll.bgp?.restartTimer, BIRDTimer(remaining: 88.125, configured: nil))
        XCTAssertEqual(ll.bgp?.lastError, "BGP Error: Hold timer expired")
        XCTAssertEqual(ll.otherFields, ["Strange new field": "42"])
        XCTAssertEqual(Set(ll.timers.keys), ["Error wait", "Restart timer"])
        let channel = try XCTUnwrap(ll.channel("ipv4"))
        XCTAssertEqual(channel.inputFilter, "my_filter")
        XCTAssertEqual(channel.importLimit, BIRDChannelLimit(limit: 10, hit: true, action: .restart))
        XCTAssertEqual(channel.gracefulRestartRecovery, "pending waiting")
        XCTAssertEqual(channel.neighborGracefulRestart, "Regular")
        XCTAssertEqual(channel.llStaleTimer, BIRDTimer(remaining: 3, configured: nil))
        XCTAssertEqual(channel.otherFields, ["Future key": "value"])

        let up = try XCTUnwrap(list["up_peer"])
        let capabilities = try XCTUnwrap(up.bgp?.localCapabilities)
        XCTAssertEqual(capabilities.map(\.name), ["Multiprotocol", "Graceful restart", "Hostname"])
        XCTAssertEqual(capabilities[1].attributes, ["Restart time": "120", "AF supported": "ipv4", "AF preserved": ""])
        XCTAssertEqual(capabilities[1].flags, ["Restart recovery"])
        XCTAssertEqual(capabilities[2].value, "lab-node")
        XCTAssertEqual(up.bgp?.neighborCapabilities, [BIRDBGPCapability(name: "Role", value: "peer")])
        XCTAssertEqual(up.bgp?.session?.routeServer, true)
        XCTAssertEqual(up.bgp?.sourceAddress, "192.0.2.1")
        XCTAssertEqual(up.bgp?.holdTimer, BIRDTimer(remaining: 1, configured: 3))
        XCTAssertEqual(up.channel("ipv4")?.routes, BIRDRouteCounters(imported: 10, filtered: 2, exported: 0, preferred: 10))
        XCTAssertEqual(list.unrecognizedLines, 1)
    }

    func testErrorsAndForeignReplies() throws {
        XCTAssertThrowsError(try parse("show-protocols-all-nosuch.txt")) { error in
            guard case BIRDParseError.daemon(9001, let text) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(text.hasPrefix("syntax error"))
        }
        XCTAssertThrowsError(try parse("show-status.txt"))
        XCTAssertEqual(try BIRDProtocolList.parse(BIRDReply(parsing: Array("0000 \n".utf8))), BIRDProtocolList())
    }
}
