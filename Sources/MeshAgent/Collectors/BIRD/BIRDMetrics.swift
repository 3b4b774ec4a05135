import BIRDControl
import Exposition
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

    public static func families(_ snapshot: BIRDSnapshot, history: BGPSessionHistory.Snapshot? = nil) -> [MetricFamily] {
        var out: [MetricFamily] = [
            .gauge("bird_up", help: "Whether BIRD answered on its control socket (1) or not (0).",
                   [Metric([], snapshot.isUp ? 1 : 0)]),
        ]
        if let status = snapshot.status { out += daemon(status) }
        if let protocols = snapshot.protocols { out += protocolFamilies(protocols.protocols, now: snapshot.now) }
        if let counts = snapshot.routeCount { out += tables(counts) }
        if let age = snapshot.routeCountAge {
            out.append(.gauge("bgpmesh_bird_route_count_age_seconds",
                              help: "Age of the table counts, which the sampler refreshes every collector.bird.route-count-interval.",
                              [Metric([], age)]))
        }
        if let memory = snapshot.memory { out += memoryFamilies(memory) }
        if let bfd = snapshot.bfd { out += bfdFamilies(bfd) }
        if let history { out += historyFamilies(history, protocols: snapshot.protocols) }
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

    static func protocolFamilies(_ protocols: [BIRDProtocol], now: Date) -> [MetricFamily] {
        // Tables, not `[Label]` per sample: a thousand BGP sessions make tens of thousands of series.
        let n = protocols.count
        let channels = protocols.reduce(0) { $0 + $1.channels.count }
        var up = SampleTable(labelNames: ["name", "proto"], reservingRows: n)
        var uptime = SampleTable(labelNames: ["name", "proto"], reservingRows: n)
        var changed = SampleTable(labelNames: ["name", "proto"], reservingRows: n)
        var states = SampleTable(labelNames: ["name", "proto"], stateLabel: "state", states: protocolStates, reservingRows: n)
        var info = SampleTable(labelNames: ["name", "proto", "table", "description"], reservingRows: n)
        let cl = ["name", "proto", "channel", "table"]
        var chState = SampleTable(labelNames: cl, stateLabel: "state", states: channelStates, reservingRows: channels)
        var filters = SampleTable(labelNames: cl + ["import_filter", "export_filter"], reservingRows: channels)
        var routes = SampleTable(labelNames: cl + ["kind"], reservingRows: channels * 2)
        var changes = SampleTable(labelNames: cl + ["direction", "kind", "result"], reservingRows: channels * 20, bytesPerRow: 48)
        var limits = SampleTable(labelNames: cl + ["limit", "action"])
        var limitHit = SampleTable(labelNames: cl + ["limit"])
        var bgpEstablished = SampleTable(labelNames: ["name"], reservingRows: n)
        var bgpStatesOut = SampleTable(labelNames: ["name"], stateLabel: "state", states: bgpStates, reservingRows: n)
        var bgpInfo = SampleTable(labelNames: ["name", "neighbor_address", "neighbor_as", "local_as", "neighbor_id"], reservingRows: n)
        var bgpError = SampleTable(labelNames: ["name", "error"])
        var hold = SampleTable(labelNames: ["name"], reservingRows: n)
        var keepalive = SampleTable(labelNames: ["name"], reservingRows: n)
        var timers = SampleTable(labelNames: ["name", "timer"], reservingRows: n * 3)

        // By name (the first label of most families), so those rows come out already sorted.
        // (Indices are sorted, not the protocols: copying those structs costs more than the sort.)
        let names = protocols.map(\.name)
        for index in names.indices.sorted(by: { names[$0] < names[$1] }) {
            let p = protocols[index]
            let name = p.name, proto = p.proto
            up.append(name, proto, value: p.state == .up ? 1 : 0)
            states.appendStates(name, proto, current: p.state.text)
            info.append(name, proto, p.table ?? "", p.description ?? "", value: 1)
            if let since = p.since {
                changed.append(name, proto, value: since.timeIntervalSince1970)
                // Absent (never zero) when the time did not parse.
                if p.state == .up { uptime.append(name, proto, value: max(0, now.timeIntervalSince(since))) }
            }
            for c in p.channels {
                let channel = c.name, table = c.table ?? ""
                if let s = c.state { chState.appendStates(name, proto, channel, table, current: s.text) }
                filters.append(name, proto, channel, table, c.inputFilter ?? "", c.outputFilter ?? "", value: 1)
                if let r = c.routes {
                    routes.append(name, proto, channel, table, "imported", value: Double(r.imported))
                    routes.append(name, proto, channel, table, "exported", value: Double(r.exported))
                    if let f = r.filtered { routes.append(name, proto, channel, table, "filtered", value: Double(f)) }
                    if let f = r.preferred { routes.append(name, proto, channel, table, "preferred", value: Double(f)) }
                }
                if let s = c.stats {
                    for (direction, kind, row) in [("import", "update", s.importUpdates), ("import", "withdraw", s.importWithdraws),
                                                   ("export", "update", s.exportUpdates), ("export", "withdraw", s.exportWithdraws)] {
                        // `---` is "not applicable": no series, not a zero.
                        for (result, value) in [("received", row.received), ("rejected", row.rejected), ("filtered", row.filtered),
                                                ("ignored", row.ignored), ("accepted", row.accepted)] {
                            if let value { changes.append(name, proto, channel, table, direction, kind, result, value: Double(value)) }
                        }
                    }
                }
                for (which, limit) in [("receive", c.receiveLimit), ("import", c.importLimit), ("export", c.exportLimit)] {
                    guard let limit else { continue }
                    limits.append(name, proto, channel, table, which, limit.action?.text ?? "", value: Double(limit.limit))
                    limitHit.append(name, proto, channel, table, which, value: limit.hit ? 1 : 0)
                }
            }
            if let bgp = p.bgp {
                bgpEstablished.append(name, value: bgp.state == .established ? 1 : 0)
                bgpStatesOut.appendStates(name, current: bgp.state.text)
                bgpInfo.append(name, bgp.neighborAddress ?? "", bgp.neighborAS.map(String.init) ?? "",
                               bgp.localAS.map(String.init) ?? "", bgp.neighborID ?? "", value: 1)
                if let e = bgp.lastError, !e.isEmpty { bgpError.append(name, e, value: 1) }
                if let c = bgp.holdTimer?.configured { hold.append(name, value: c) }
                if let c = bgp.keepaliveTimer?.configured { keepalive.append(name, value: c) }
                for (timer, value) in [("hold", bgp.holdTimer), ("keepalive", bgp.keepaliveTimer), ("error_wait", bgp.errorWait),
                                       ("connect_delay", bgp.connectDelay), ("restart", bgp.restartTimer)] {
                    if let value { timers.append(name, timer, value: value.remaining) }
                }
            }
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

    static func bfdFamilies(_ b: BIRDBFDSessions) -> [MetricFamily] {
        var up: [Metric] = [], interval: [Metric] = [], timeout: [Metric] = []
        var states: [(labels: [Label], current: String?)] = []
        for p in b.protocols {
            for s in p.sessions {
                let l = [Label("protocol", p.name), Label("address", s.address), Label("interface", s.interface ?? "")]
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

    static func historyFamilies(_ h: BGPSessionHistory.Snapshot, protocols: BIRDProtocolList?) -> [MetricFamily] {
        var flaps = SampleTable(labelNames: ["name"], reservingRows: h.sessions.count)
        var established = SampleTable(labelNames: ["name"], reservingRows: h.sessions.count)
        var convergence = SampleTable(labelNames: ["name"], reservingRows: h.sessions.count)
        for (name, session) in h.sessions.sorted(by: { $0.key < $1.key }) {
            flaps.append(name, value: Double(session.flaps))
            if let t = session.establishedAt { established.append(name, value: t.timeIntervalSince1970) }
            if let c = session.lastConvergence { convergence.append(name, value: c) }
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
