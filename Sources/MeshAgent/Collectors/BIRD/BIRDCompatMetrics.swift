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
    /// `bird_protocol_prefix_<kind>_count`: imported, exported, filtered, preferred.
    static let prefixKinds = ["import", "export", "filter", "preferred"]
    /// `bird_protocol_changes_<change>_<direction>_<result>_count`, in the order of the stats rows and columns.
    static let changeKeys: [String] = {
        var keys: [String] = []
        for (change, direction) in [("update", "import"), ("withdraw", "import"), ("update", "export"), ("withdraw", "export")] {
            for result in ["receive", "reject", "filter", "ignore", "accept"] { keys.append(change + "_" + direction + "_" + result) }
        }
        return keys
    }()

    public static func families(_ snapshot: BIRDSnapshot) -> [MetricFamily] {
        let labelNames = ["name", "proto", "ip_version", "import_filter", "export_filter"]
        let protocols = snapshot.protocols?.protocols ?? []
        // bird_exporter reports one series per channel and skips protocols without channels and pipes.
        var rows: [(protocol: Int, channel: Int)] = []
        var outputs: [String] = [], inputs: [String] = [], versions: [String] = [], names: [String] = [], protos: [String] = []
        for (i, p) in protocols.enumerated() where p.kind != .pipe {
            for (k, c) in p.channels.enumerated() {
                rows.append((i, k))
                outputs.append(c.outputFilter ?? "")
                inputs.append(c.inputFilter ?? "")
                versions.append(ipVersion(c.name))
                names.append(p.name)
                protos.append(p.proto)
            }
        }
        // In the order the encoder sorts these label sets (export_filter, import_filter, ip_version,
        // name, proto, then the order given), so it finds each table sorted and skips its sort.
        let output = BIRDMetrics.ranks(outputs), input = BIRDMetrics.ranks(inputs), version = BIRDMetrics.ranks(versions)
        let name = BIRDMetrics.ranks(names), proto = BIRDMetrics.ranks(protos)
        let order = rows.indices.sorted { a, b in
            (output[a], input[a], version[a], name[a], proto[a], a) < (output[b], input[b], version[b], name[b], proto[b], b)
        }
        // Each channel's five label values once; every family but bird_protocol_up copies them from here.
        var labels = SampleTable(labelNames: labelNames, reservingRows: rows.count)
        var up = SampleTable(labelNames: labelNames + ["state"], reservingRows: rows.count)
        var uptime = SampleTable(labelNames: labelNames, reservingRows: rows.count)
        var prefixes = prefixKinds.map { _ in SampleTable(labelNames: labelNames, reservingRows: rows.count) }
        var changes = changeKeys.map { _ in SampleTable(labelNames: labelNames, reservingRows: rows.count) }
        let now = snapshot.now
        for index in order {
            let p = protocols[rows[index].protocol], c = p.channels[rows[index].channel]
            let row = labels.count
            labels.append(names[index], protos[index], versions[index], inputs[index], outputs[index], value: 0)
            // Only bird_protocol_up carries the Info column, as `state`, in bird_exporter.
            up.append(names[index], protos[index], versions[index], inputs[index], outputs[index], p.info, value: p.state == .up ? 1 : 0)
            if let since = p.since {
                uptime.append(labelsOf: row, in: labels,
                              value: p.state == .up ? max(0, now.timeIntervalSince(since)).rounded(.down) : 0)
            }
            // Like bird_exporter, a missing count or a `---` cell is a 0 here, so its dashboards see every series.
            let r = c.routes
            prefixes[0].append(labelsOf: row, in: labels, value: Double(r?.imported ?? 0))
            prefixes[1].append(labelsOf: row, in: labels, value: Double(r?.exported ?? 0))
            prefixes[2].append(labelsOf: row, in: labels, value: Double(r?.filtered ?? 0))
            prefixes[3].append(labelsOf: row, in: labels, value: Double(r?.preferred ?? 0))
            let s = c.stats ?? BIRDRouteChangeStats()
            var k = 0
            for stats in [s.importUpdates, s.importWithdraws, s.exportUpdates, s.exportWithdraws] {
                for value in [stats.received, stats.rejected, stats.filtered, stats.ignored, stats.accepted] {
                    changes[k].append(labelsOf: row, in: labels, value: Double(value ?? 0))
                    k += 1
                }
            }
        }
        var ospf = SampleTable(labelNames: ["name"])
        for p in protocols where p.kind == .ospf {
            ospf.append(p.name, value: p.state == .up && p.info != "Alone" ? 1 : 0)
        }
        var out: [MetricFamily] = [
            .gauge("bird_protocol_up", help: "Protocol is up", up),
            .gauge("bird_protocol_uptime", help: "Uptime of the protocol in seconds", uptime),
            .gauge("bird_ospf_running", help: "State of OSPF: 0 = Alone, 1 = Running (Neighbor-Adjacencies established)", ospf),
        ]
        for (kind, table) in zip(prefixKinds, prefixes) where !rows.isEmpty {
            out.append(.gauge("bird_protocol_prefix_\(kind)_count", help: "Number of \(kind)ed prefixes", table))
        }
        for (key, table) in zip(changeKeys, changes) where !rows.isEmpty {
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
