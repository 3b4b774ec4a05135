import BIRDControl
import Exposition
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns a `BIRDSnapshot` (and the sampler's history) into metric families.
/// Pure: the same snapshot always gives the same families.
///
/// Native per-protocol names use `bird_proto_*`, because `bird_protocol_*`
/// belongs to bird_exporter's series, which `--collector.bird.compat` emits
/// with bird_exporter's own label sets.
public enum BIRDMetrics {
    static let protocolStates = ["up", "down", "start", "stop", "flush"]
    static let channelStates = ["UP", "START", "DOWN", "FLUSHING"]
    static let bgpStates = ["Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established", "Close", "Down", "Passive"]
    static let daemonStates = ["up", "shutdown", "reconfiguring"]
    static let bfdStates = ["AdminDown", "Down", "Init", "Up"]

    /// `peers` gives the `peer` label of the per-protocol series (`BIRDPeerNames`).
    public static func families(_ snapshot: BIRDSnapshot, history: BGPSessionHistory.Snapshot? = nil,
                                peers: BIRDPeerNames = BIRDPeerNames()) -> [MetricFamily] {
        let peerOf = peers.byProtocol(snapshot.protocols?.protocols ?? [])
        var out: [MetricFamily] = [
            .gauge("bird_up", help: "Whether BIRD answered on its control socket (1) or not (0).",
                   [Metric([], snapshot.isUp ? 1 : 0)]),
        ]
        if let status = snapshot.status { out += daemon(status) }
        if let protocols = snapshot.protocols { out += protocolFamilies(protocols.protocols, now: snapshot.now, peerOf: peerOf) }
        if let counts = snapshot.routeCount { out += tables(counts) }
        if let age = snapshot.routeCountAge {
            out.append(.gauge("bgpmesh_bird_route_count_age_seconds",
                              help: "Age of the table counts, which the sampler refreshes every collector.bird.route-count-interval.",
                              [Metric([], age)]))
        }
        if let memory = snapshot.memory { out += memoryFamilies(memory) }
        if let bfd = snapshot.bfd {
            let protocols = snapshot.protocols?.protocols ?? []
            out += bfdFamilies(bfd) { peers.bfdPeer(address: $0, protocols: protocols) }
        }
        if let history { out += historyFamilies(history, protocols: snapshot.protocols, peerOf: peerOf) }
        return out
    }

    // MARK: daemon

    static func daemon(_ s: BIRDStatus) -> [MetricFamily] {
        var out: [MetricFamily] = [
            .info("bird_info", help: "BIRD version and router ID.",
                  [[Label("version", s.version), Label("router_id", s.routerID ?? "")]]),
            .stateSet("bird_daemon_state", help: "BIRD's own state from `show status`: one series per state.",
                      labels: [], states: daemonStates, current: s.daemonState.label),
        ]
        if let t = s.lastReboot {
            out.append(.gauge("bird_start_time_seconds", help: "When BIRD last started (last reboot), since the epoch.",
                              [Metric([], t.timeIntervalSince1970)]))
        }
        if let t = s.lastReconfiguration {
            out.append(.gauge("bird_reconfiguration_timestamp_seconds", help: "When BIRD was last reconfigured, since the epoch.",
                              [Metric([], t.timeIntervalSince1970)]))
        }
        return out
    }

    // MARK: protocols, channels, BGP

    /// `peerOf`: protocol name -> peer (`peer=""` for the others).
    static func protocolFamilies(_ protocols: [BIRDProtocol], now: Date, peerOf: [String: String] = [:]) -> [MetricFamily] {
        // Tables, not `[Label]` per sample: a thousand BGP sessions make tens of thousands of series.
        let n = protocols.count
        let channels = protocols.reduce(0) { $0 + $1.channels.count }
        // `peer` follows `name` (one peer per protocol), so it never changes the rows' order.
        var up = SampleTable(labelNames: ["name", "peer", "proto"], reservingRows: n)
        var uptime = SampleTable(labelNames: ["name", "peer", "proto"], reservingRows: n)
        var changed = SampleTable(labelNames: ["name", "peer", "proto"], reservingRows: n)
        var states = SampleTable(labelNames: ["name", "peer", "proto"], stateLabel: "state", states: protocolStates, reservingRows: n)
        var info = SampleTable(labelNames: ["name", "proto", "table", "description"], reservingRows: n)
        let cl = ["name", "proto", "channel", "table"]
        let pcl = ["name", "peer", "proto", "channel", "table"]
        var chState = SampleTable(labelNames: pcl, stateLabel: "state", states: channelStates, reservingRows: channels)
        var filters = SampleTable(labelNames: cl + ["import_filter", "export_filter"], reservingRows: channels)
        var routes = SampleTable(labelNames: pcl + ["kind"], reservingRows: channels * 2)
        var changes = SampleTable(labelNames: cl + ["direction", "kind", "result"], reservingRows: channels * 20, bytesPerRow: 48)
        var limits = SampleTable(labelNames: pcl + ["limit", "action"])
        var limitHit = SampleTable(labelNames: pcl + ["limit"])
        var bgpEstablished = SampleTable(labelNames: ["name", "peer"], reservingRows: n)
        var bgpStatesOut = SampleTable(labelNames: ["name", "peer"], stateLabel: "state", states: bgpStates, reservingRows: n)
        var bgpInfo = SampleTable(labelNames: ["name", "neighbor_address", "neighbor_as", "local_as", "neighbor_id", "peer"], reservingRows: n)
        var bgpError = SampleTable(labelNames: ["name", "error", "peer"])
        var hold = SampleTable(labelNames: ["name", "peer"], reservingRows: n)
        var keepalive = SampleTable(labelNames: ["name", "peer"], reservingRows: n)
        var timers = SampleTable(labelNames: ["name", "peer", "timer"], reservingRows: n * 3)

        // Rows go in the order the encoder sorts them (label by label, labels by name, values by
        // UTF-8 bytes), so it finds each table sorted and skips the sort: by name for most
        // protocol families, by channel first for the channel families.
        // (Indices are sorted, not the protocols: copying those structs costs more than the sort.)
        let names = protocols.map(\.name)
        let nameRank = ranks(names)
        let byName = names.indices.sorted { (nameRank[$0], $0) < (nameRank[$1], $1) }
        for index in byName {
            let p = protocols[index]
            let name = p.name, proto = p.proto, peer = peerOf[name] ?? ""
            up.append(name, peer, proto, value: p.state == .up ? 1 : 0)
            states.appendStates([name, peer, proto], current: p.state.text)
            if let since = p.since {
                changed.append(name, peer, proto, value: since.timeIntervalSince1970)
                // Absent (never zero) when the time did not parse.
                if p.state == .up { uptime.append(name, peer, proto, value: max(0, now.timeIntervalSince(since))) }
            }
            if let bgp = p.bgp {
                bgpEstablished.append(name, peer, value: bgp.state == .established ? 1 : 0)
                bgpStatesOut.appendStates(name, peer, current: bgp.state.text)
                if let e = bgp.lastError, !e.isEmpty { bgpError.append(name, e, peer, value: 1) }
                if let c = bgp.holdTimer?.configured { hold.append(name, peer, value: c) }
                if let c = bgp.keepaliveTimer?.configured { keepalive.append(name, peer, value: c) }
                // Timer names in byte order.
                for (timer, value) in [("connect_delay", bgp.connectDelay), ("error_wait", bgp.errorWait), ("hold", bgp.holdTimer),
                                       ("keepalive", bgp.keepaliveTimer), ("restart", bgp.restartTimer)] {
                    if let value { timers.append(name, peer, timer, value: value.remaining) }
                }
            }
        }
        // bird_proto_info: description, name, proto, table.
        let descriptionRank = ranks(protocols.map { $0.description ?? "" })
        for index in protocols.indices.sorted(by: { (descriptionRank[$0], nameRank[$0]) < (descriptionRank[$1], nameRank[$1]) }) {
            let p = protocols[index]
            info.append(p.name, p.proto, p.table ?? "", p.description ?? "", value: 1)
        }
        // bird_bgp_session_info: local_as, name, neighbor_address, neighbor_as, neighbor_id.
        let localAS = protocols.map { $0.bgp?.localAS.map(String.init) ?? "" }
        let localRank = ranks(localAS)
        for index in byName.sorted(by: { (localRank[$0], nameRank[$0]) < (localRank[$1], nameRank[$1]) }) {
            guard let bgp = protocols[index].bgp else { continue }
            bgpInfo.append(names[index], bgp.neighborAddress ?? "", bgp.neighborAS.map(String.init) ?? "", localAS[index], bgp.neighborID ?? "",
                           peerOf[names[index]] ?? "", value: 1)
        }

        // The channel families, from one flat row per channel: channel name first in all of them.
        var rows: [ChannelRow] = []
        rows.reserveCapacity(channels)
        for index in byName {
            let p = protocols[index]
            for c in p.channels {
                rows.append(ChannelRow(name: p.name, peer: peerOf[p.name] ?? "", proto: p.proto, nameRank: nameRank[index], channel: c))
            }
        }
        let channelRank = ranks(rows.map(\.channel.name))
        let inputRank = ranks(rows.map { $0.channel.inputFilter ?? "" })
        let outputRank = ranks(rows.map { $0.channel.outputFilter ?? "" })
        // By channel, then name (proto and table follow from the protocol and channel).
        let byChannel = rows.indices.sorted { (channelRank[$0], rows[$0].nameRank) < (channelRank[$1], rows[$1].nameRank) }
        var group = 0
        while group < byChannel.count {
            var end = group + 1
            while end < byChannel.count && channelRank[byChannel[end]] == channelRank[byChannel[group]] { end += 1 }
            let members = byChannel[group..<end]
            for i in members {
                let r = rows[i]
                if let s = r.channel.state { chState.appendStates([r.name, r.peer, r.proto, r.channel.name, r.table], current: s.text) }
            }
            // bird_channel_filter_info: channel, export_filter, import_filter, name, proto, table.
            for i in members.sorted(by: { (outputRank[$0], inputRank[$0], rows[$0].nameRank) < (outputRank[$1], inputRank[$1], rows[$1].nameRank) }) {
                let r = rows[i]
                filters.append(r.name, r.proto, r.channel.name, r.table, r.channel.inputFilter ?? "", r.channel.outputFilter ?? "", value: 1)
            }
            // bird_channel_routes: channel, kind, name, proto, table.
            for kind in 0..<4 {
                for i in members {
                    let r = rows[i]
                    guard let counts = r.channel.routes else { continue }
                    let value = [counts.exported, counts.filtered, counts.imported, counts.preferred][kind]
                    if let value { routes.append(r.name, r.peer, r.proto, r.channel.name, r.table, Self.routeKinds[kind], value: Double(value)) }
                }
            }
            // bird_channel_route_changes_total: channel, direction, kind, name, proto, result, table.
            for (d, (direction, kind)) in [("export", "update"), ("export", "withdraw"), ("import", "update"), ("import", "withdraw")].enumerated() {
                for i in members {
                    let r = rows[i]
                    guard let s = r.channel.stats else { continue }
                    let row = [s.exportUpdates, s.exportWithdraws, s.importUpdates, s.importWithdraws][d]
                    // `---` is "not applicable": no series, not a zero. Results in byte order.
                    for (result, value) in [("accepted", row.accepted), ("filtered", row.filtered), ("ignored", row.ignored),
                                            ("received", row.received), ("rejected", row.rejected)] {
                        if let value { changes.append(r.name, r.proto, r.channel.name, r.table, direction, kind, result, value: Double(value)) }
                    }
                }
            }
            // bird_channel_limit_hit: channel, limit, name, proto, table (bird_channel_limit starts with the action; the encoder sorts it).
            for (which, path) in [("export", \BIRDChannel.exportLimit), ("import", \BIRDChannel.importLimit), ("receive", \BIRDChannel.receiveLimit)] {
                for i in members {
                    let r = rows[i]
                    guard let limit = r.channel[keyPath: path] else { continue }
                    limits.append([r.name, r.peer, r.proto, r.channel.name, r.table, which, limit.action?.text ?? ""], value: Double(limit.limit))
                    limitHit.append(r.name, r.peer, r.proto, r.channel.name, r.table, which, value: limit.hit ? 1 : 0)
                }
            }
            group = end
        }
        return [
            .gauge("bird_proto_up", help: "Whether the protocol is up (1) or not (0).", up),
            .gauge("bird_proto_state", help: "Protocol state: one series per state, 1 for the current one.", states),
            .info("bird_proto_info", help: "Protocol kind, table and description.", info),
            .gauge("bird_proto_uptime_seconds", help: "Seconds since an up protocol came up; absent if BIRD's time did not parse.", uptime),
            .gauge("bird_proto_state_change_timestamp_seconds", help: "When the protocol last changed state, since the epoch.", changed),
            .gauge("bird_channel_state", help: "Channel state: one series per state.", chState),
            .info("bird_channel_filter_info", help: "The channel's import and export filters.", filters),
            .gauge("bird_channel_routes", help: "Routes in the channel by kind (imported, filtered, exported, preferred).", routes),
            .counter("bird_channel_route_changes_total",
                     help: "Route change statistics by direction, kind (update, withdraw) and result; absent where BIRD says not applicable.",
                     changes),
            .gauge("bird_channel_limit", help: "Configured route limit by kind and action.", limits),
            .gauge("bird_channel_limit_hit", help: "Whether the route limit was hit (1) or not (0).", limitHit),
            .gauge("bird_bgp_session_established", help: "Whether the BGP session is Established (1) or not (0).", bgpEstablished),
            .gauge("bird_bgp_session_state", help: "BGP state: one series per state, 1 for the current one.", bgpStatesOut),
            .info("bird_bgp_session_info", help: "BGP neighbor address and AS, local AS and neighbor router ID.", bgpInfo),
            .info("bird_bgp_last_error_info", help: "The last error of the BGP session, as BIRD words it.", bgpError),
            .gauge("bird_bgp_hold_time_seconds", help: "Configured (negotiated) BGP hold time.", hold),
            .gauge("bird_bgp_keepalive_time_seconds", help: "Configured (negotiated) BGP keepalive time.", keepalive),
            .gauge("bird_bgp_timer_remaining_seconds", help: "Time left on a BGP timer (hold, keepalive, error_wait, connect_delay, restart).", timers),
        ]
    }

    static let routeKinds = ["exported", "filtered", "imported", "preferred"]

    /// One channel with what its rows need.
    struct ChannelRow {
        var name: String
        var peer: String
        var proto: String
        /// The protocol's place in name order.
        var nameRank: Int
        var channel: BIRDChannel
        var table: String { channel.table ?? "" }
    }

    /// Each value's place among the distinct values in byte order (equal values, equal ranks):
    /// rows then sort on integers. Bytes, not Swift's `<` and hashing, which normalise Unicode
    /// (slow on the UTF-8 descriptions, and not the encoder's order).
    static func ranks(_ values: [String]) -> [Int] {
        var buffer: [UInt8] = []
        var bounds = [0]
        bounds.reserveCapacity(values.count + 1)
        for value in values {
            buffer.append(contentsOf: value.utf8)
            bounds.append(buffer.count)
        }
        return buffer.withUnsafeBufferPointer { bytes in
            bounds.withUnsafeBufferPointer { bounds in
                func compare(_ x: Int, _ y: Int) -> Int {
                    let xLength = bounds[x + 1] - bounds[x], yLength = bounds[y + 1] - bounds[y]
                    let shared = min(xLength, yLength)
                    if shared > 0, let base = bytes.baseAddress {
                        let c = memcmp(base + bounds[x], base + bounds[y], shared)
                        if c != 0 { return c < 0 ? -1 : 1 }
                    }
                    return xLength < yLength ? -1 : (xLength > yLength ? 1 : 0)
                }
                let order = values.indices.sorted { compare($0, $1) < 0 }
                var rank = [Int](repeating: 0, count: values.count)
                var current = 0
                for (n, index) in order.enumerated() {
                    if n > 0 && compare(order[n - 1], index) != 0 { current += 1 }
                    rank[index] = current
                }
                return rank
            }
        }
    }

    // MARK: tables, memory, BFD

    static func tables(_ c: BIRDRouteCount) -> [MetricFamily] {
        [
            .gauge("bird_table_routes", help: "Routes in the routing table.",
                   c.tables.map { Metric([Label("table", $0.table)], Double($0.routes)) }),
            .gauge("bird_table_networks", help: "Networks (prefixes) in the routing table.",
                   c.tables.map { Metric([Label("table", $0.table)], Double($0.networks)) }),
        ]
    }

    static func memoryFamilies(_ m: BIRDMemory) -> [MetricFamily] {
        var metrics: [Metric] = []
        for e in m.entries {
            let kind = e.name.lowercased().replacing(" ", with: "_")
            metrics.append(Metric([Label("kind", kind), Label("type", "effective")], Double(e.effectiveBytes)))
            if let o = e.overheadBytes { metrics.append(Metric([Label("kind", kind), Label("type", "overhead")], Double(o))) }
        }
        return [.gauge("bird_memory_bytes", help: "BIRD memory use from `show memory`, by kind, effective and overhead.", metrics)]
    }

    /// `peerOf`: the peer of a session's address (`BIRDPeerNames.bfdPeer`).
    static func bfdFamilies(_ b: BIRDBFDSessions, peerOf: (String) -> String = { _ in "" }) -> [MetricFamily] {
        var up: [Metric] = [], interval: [Metric] = [], timeout: [Metric] = []
        var states: [(labels: [Label], current: String?)] = []
        for p in b.protocols {
            for s in p.sessions {
                let l = [Label("protocol", p.name), Label("address", s.address), Label("interface", s.interface ?? ""),
                         Label("peer", peerOf(s.address))]
                up.append(Metric(l, s.state == .up ? 1 : 0))
                states.append((l, s.state.text))
                interval.append(Metric(l, s.interval))
                timeout.append(Metric(l, s.timeout))
            }
        }
        return [
            .gauge("bird_bfd_up", help: "Whether the BFD session is Up (1) or not (0).", up),
            .stateSet("bird_bfd_state", help: "BFD session state: one series per state.", entries: states, states: bfdStates),
            .gauge("bird_bfd_interval_seconds", help: "BFD transmit interval in use.", interval),
            .gauge("bird_bfd_timeout_seconds", help: "BFD detection timeout in use.", timeout),
        ]
    }

    // MARK: sampler history

    static func historyFamilies(_ h: BGPSessionHistory.Snapshot, protocols: BIRDProtocolList?,
                                peerOf: [String: String] = [:]) -> [MetricFamily] {
        var flaps = SampleTable(labelNames: ["name", "peer"], reservingRows: h.sessions.count)
        var established = SampleTable(labelNames: ["name", "peer"], reservingRows: h.sessions.count)
        var convergence = SampleTable(labelNames: ["name", "peer"], reservingRows: h.sessions.count)
        for (name, session) in h.sessions.sorted(by: { $0.key < $1.key }) {
            // A session the sampler saw whose protocol has no detailed read yet: named by `bgpmesh_<peer>` alone.
            let peer = peerOf[name] ?? BIRDPeerNames().peer(protocol: name, neighbor: nil)
            flaps.append(name, peer, value: Double(session.flaps))
            if let t = session.establishedAt { established.append(name, peer, value: t.timeIntervalSince1970) }
            if let c = session.lastConvergence { convergence.append(name, peer, value: c) }
        }
        return [
            .counter("bird_bgp_session_flaps_total", help: "Transitions of the BGP session out of Established seen by the agent.", flaps),
            .gauge("bird_bgp_session_established_timestamp_seconds", help: "When the BGP session last became Established, since the epoch.",
                   established),
            .gauge("bird_bgp_convergence_seconds",
                   help: "Last convergence time: from Established until the imported route count stopped changing.", convergence),
            .histogram("bird_bgp_convergence_duration_seconds", help: "Convergence times of BGP sessions seen by the agent.",
                       [Metric([], histogram: h.convergence)]),
            .counter("bgpmesh_bird_sampler_polls_total", help: "Polls of `show protocols` by the BGP session sampler, by result.",
                     [Metric([Label("result", "success")], Double(h.polls)), Metric([Label("result", "error")], Double(h.pollErrors))]),
        ]
    }
}
