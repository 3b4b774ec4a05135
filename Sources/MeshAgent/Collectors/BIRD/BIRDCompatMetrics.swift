import BIRDControl
import Exposition
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// bird_exporter 1.4.1's "new format" series (`-format.new`, `-bird.v2`), so
/// dashboards and alerts built on it keep working after a switch. Same names
/// and label sets; the values are ours, so uptimes are right under BIRD's
/// default time format and each channel keeps its own name. Its habit of
/// reporting a missing count or a `---` cell as 0 is kept, for its dashboards;
/// the native `bird_channel_*` series leave those out instead.
public enum BIRDCompatMetrics {
    public static func families(_ snapshot: BIRDSnapshot) -> [MetricFamily] {
        let names = ["name", "proto", "ip_version", "import_filter", "export_filter"]
        var up = SampleTable(labelNames: names + ["state"]), uptime = SampleTable(labelNames: names)
        var prefixes: [String: SampleTable] = [:], changes: [String: SampleTable] = [:]
        var ospf = SampleTable(labelNames: ["name"])
        let now = snapshot.now
        for p in snapshot.protocols?.protocols ?? [] {
            if p.kind == .ospf {
                ospf.append(p.name, value: p.state == .up && p.info != "Alone" ? 1 : 0)
            }
            // bird_exporter reports one series per channel and skips protocols without channels and pipes.
            guard p.kind != .pipe else { continue }
            for c in p.channels {
                let labels = [p.name, p.proto, ipVersion(c.name), c.inputFilter ?? "", c.outputFilter ?? ""]
                // Only bird_protocol_up carries the Info column, as `state`, in bird_exporter.
                up.append(labels + [p.info], value: p.state == .up ? 1 : 0)
                if let since = p.since {
                    uptime.append(labels, value: p.state == .up ? max(0, now.timeIntervalSince(since)).rounded(.down) : 0)
                }
                // Like bird_exporter, a missing count or a `---` cell is a 0 here, so its dashboards see every series.
                let r = c.routes
                for (kind, value) in [("import", r?.imported), ("export", r?.exported), ("filter", r?.filtered), ("preferred", r?.preferred)] {
                    prefixes[kind, default: SampleTable(labelNames: names)].append(labels, value: Double(value ?? 0))
                }
                let s = c.stats ?? BIRDRouteChangeStats()
                for (change, direction, row) in [("update", "import", s.importUpdates), ("withdraw", "import", s.importWithdraws),
                                                 ("update", "export", s.exportUpdates), ("withdraw", "export", s.exportWithdraws)] {
                    for (result, value) in [("receive", row.received), ("reject", row.rejected), ("filter", row.filtered),
                                            ("ignore", row.ignored), ("accept", row.accepted)] {
                        changes[change + "_" + direction + "_" + result, default: SampleTable(labelNames: names)]
                            .append(labels, value: Double(value ?? 0))
                    }
                }
            }
        }
        var out: [MetricFamily] = [
            .gauge("bird_protocol_up", help: "Protocol is up", up),
            .gauge("bird_protocol_uptime", help: "Uptime of the protocol in seconds", uptime),
            .gauge("bird_ospf_running", help: "State of OSPF: 0 = Alone, 1 = Running (Neighbor-Adjacencies established)", ospf),
        ]
        for (kind, table) in prefixes {
            out.append(.gauge("bird_protocol_prefix_\(kind)_count", help: "Number of \(kind)ed prefixes", table))
        }
        for (key, table) in changes {
            out.append(.gauge("bird_protocol_changes_\(key)_count", help: "Route change statistics (\(key.replacing("_", with: " ")))", table))
        }
        if let bfd = snapshot.bfd {
            var bup: [Metric] = [], interval: [Metric] = [], timeout: [Metric] = [], buptime: [Metric] = []
            for p in bfd.protocols {
                for s in p.sessions {
                    let l = [Label("name", p.name), Label("ip", s.address), Label("interface", s.interface ?? "---")]
                    bup.append(Metric(l, s.state == .up ? 1 : 0))
                    interval.append(Metric(l, s.interval))
                    timeout.append(Metric(l, s.timeout))
                    if let since = s.since { buptime.append(Metric(l, s.state == .up ? max(0, now.timeIntervalSince(since)) : 0)) }
                }
            }
            out += [
                .gauge("bird_bfd_session_up", help: "Session is up", bup),
                .gauge("bird_bfd_session_interval_seconds", help: "Session interval in seconds", interval),
                .gauge("bird_bfd_session_timeout_seconds", help: "Session timeout in seconds", timeout),
                .gauge("bird_bfd_session_uptime_seconds", help: "Session uptime in seconds", buptime),
            ]
        }
        return out
    }

    static func ipVersion(_ channel: String?) -> String {
        switch channel {
        case "ipv4": return "4"
        case "ipv6": return "6"
        default: return ""
        }
    }
}
