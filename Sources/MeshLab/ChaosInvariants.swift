import Foundation

/// Hashes of the files a fault must not lose or garble: per node every host file, the set of
/// ConnectTo lines (tinc.conf and conf.d) and the private key. Keys read `node2 hosts/node3`,
/// `node2 ConnectTo`, `node2 rsa_key.priv`.
public struct FileSnapshot: Codable, Equatable, Sendable {
    public var entries: [String: String]

    public init(entries: [String: String]) { self.entries = entries }

    /// FNV-1a, 64 bit: a change detector, not a security check.
    public static func hash(_ data: Data) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in data { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return String(h, radix: 16)
    }

    public static func take(_ nodes: [NodeSpec]) -> FileSnapshot {
        let fm = FileManager.default
        var e: [String: String] = [:]
        for n in nodes {
            for f in ((try? fm.contentsOfDirectory(atPath: n.tincHostsDir)) ?? []).sorted() where !f.hasPrefix(".") {
                if let d = fm.contents(atPath: "\(n.tincHostsDir)/\(f)") { e["\(n.name) hosts/\(f)"] = hash(d) }
            }
            if let d = fm.contents(atPath: "\(n.tincDir)/rsa_key.priv") { e["\(n.name) rsa_key.priv"] = hash(d) }
            let confD = ((try? fm.contentsOfDirectory(atPath: n.tincConfD)) ?? []).filter { $0.hasSuffix(".conf") }.sorted()
            var lines: [String] = []
            for f in [n.tincConf] + confD.map({ "\(n.tincConfD)/\($0)" }) {
                guard let d = fm.contents(atPath: f) else { continue }
                for l in String(decoding: d, as: UTF8.self).split(separator: "\n") {
                    let t = l.trimmingCharacters(in: .whitespaces)
                    if t.lowercased().hasPrefix("connectto") { lines.append(t.replacingOccurrences(of: " ", with: "")) }
                }
            }
            e["\(n.name) ConnectTo"] = hash(Data(lines.sorted().joined(separator: "\n").utf8))
        }
        return FileSnapshot(entries: e)
    }
}

/// What a fault may touch: whole nodes (`fill-disk`) or single entries (`corrupt-host-file`).
public struct FileScope: Equatable, Sendable {
    public var nodes: Set<String> = []
    public var entries: Set<String> = []
    public init(nodes: Set<String> = [], entries: Set<String> = []) {
        self.nodes = nodes
        self.entries = entries
    }
    public static let none = FileScope()
    func covers(_ key: String) -> Bool {
        entries.contains(key) || nodes.contains(String(key.prefix { $0 != " " }))
    }
}

/// One repair from an agent's audit trail (/api/v1/status `recent_actions`).
public struct RepairEvent: Codable, Hashable, Sendable {
    public var node: String
    public var time: Double
    public var action: String
    public var target: String
    public var trigger: String
    public var result: String

    public init(node: String, time: Double, action: String, target: String, trigger: String, result: String) {
        self.node = node
        self.time = time
        self.action = action
        self.target = target
        self.trigger = trigger
        self.result = result
    }

    /// Taken by the agent itself or for an alert (what its rate limit covers), not a dry run.
    var counts: Bool { trigger != "manual" && result != "dry_run" }
}

/// The agents' repair limits, as the lab runs them (the agent's defaults unless overridden).
public struct RepairLimits: Codable, Equatable, Sendable {
    /// repair.max-actions per repair.window.
    public var maxActions = 10
    public var window: Double = 60
    /// repair.cooldown and repair.cooldown-max: the ladder's backoff.
    public var cooldown: Double = 2
    public var cooldownMax: Double = 60
    /// Audit times are taken when each action starts, after the ones before it in the same round
    /// ran; the window is shortened by this much so a slow round does not look like a breach.
    public var slack: Double = 2

    public init() {}

    /// How often the ladder lets one action on one target run within one window: its backoff
    /// starts at `cooldown` and doubles up to `cooldownMax` (0, 2, 6, 14, 30 s with the defaults: 5).
    public var loopLimit: Int {
        var t = 0.0, gap = cooldown, n = 1
        while true {
            t += gap
            if t >= window || gap <= 0 { return n }
            n += 1
            gap = min(gap * 2, cooldownMax)
        }
    }
}

/// The chaos runner's checks on the evidence it gathers; pure, so they are tested on made-up input.
public enum ChaosInvariants {
    /// Entries lost or changed outside `scope`. A host file the isolated node lost is named as a
    /// quorum breach: a node cut off from etcd and its peers must not remove their files.
    public static func fileViolations(baseline: FileSnapshot, current: FileSnapshot, scope: FileScope,
                                      isolated: String?) -> [String] {
        var out: [String] = []
        for (key, hash) in baseline.entries.sorted(by: { $0.key < $1.key }) where !scope.covers(key) {
            let node = String(key.prefix { $0 != " " })
            guard let now = current.entries[key] else {
                if node == isolated && key.contains(" hosts/") {
                    out.append("quorum: isolated \(node) removed \(key.dropFirst(node.count + 1))")
                } else {
                    out.append("\(key) lost")
                }
                continue
            }
            if now != hash { out.append(key.hasSuffix(" ConnectTo") ? "\(key) lines changed" : "\(key) garbled (content changed)") }
        }
        return out
    }

    /// Rate-limit breaches (more than `maxActions` counted repairs of one node within a window) and
    /// repair loops (one action on one target more often within a window than the ladder allows).
    /// Each breach is named once, at the window where it starts.
    public static func repairViolations(_ events: [RepairEvent], limits: RepairLimits) -> [String] {
        var out: [String] = []
        let span = max(limits.window - limits.slack, 1)
        let byNode = Dictionary(grouping: events.filter(\.counts), by: \.node)
        for node in byNode.keys.sorted() {
            let list = byNode[node]!.sorted { $0.time < $1.time }
            out += breaches(list.map(\.time), span: span, limit: limits.maxActions) { count, at in
                "\(node): \(count) repairs within \(Int(limits.window)) s from \(stamp(at)) (repair.max-actions \(limits.maxActions))"
            }
            let byAction = Dictionary(grouping: list, by: { "\($0.action)\($0.target.isEmpty ? "" : " " + $0.target)" })
            for action in byAction.keys.sorted() {
                out += breaches(byAction[action]!.map(\.time), span: span, limit: limits.loopLimit) { count, at in
                    "\(node): repair loop: \(action) \(count) times within \(Int(limits.window)) s from \(stamp(at)) (the ladder allows \(limits.loopLimit))"
                }
            }
        }
        return out
    }

    /// Sliding windows over sorted times: a breach is reported at its first window, then the scan
    /// continues after that window.
    static func breaches(_ times: [Double], span: Double, limit: Int, _ message: (Int, Double) -> String) -> [String] {
        var out: [String] = []
        var i = 0
        while i < times.count {
            var j = i
            while j < times.count && times[j] < times[i] + span { j += 1 }
            if j - i > limit {
                out.append(message(j - i, times[i]))
                i = j
            } else {
                i += 1
            }
        }
        return out
    }

    static func stamp(_ t: Double) -> String {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSince1970: t)) + "Z"
    }
}
