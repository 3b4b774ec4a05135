import Foundation

/// How the lab's BIRDs peer: every node with every other, or clients with the route reflectors only.
public enum LabTopology: String, Codable, Sendable, CaseIterable {
    case full
    case reflectors
}

/// The timers a lab of a given size runs with, chosen once at `up` and kept in the lab state.
///
/// A small lab (up to `smallLab` nodes) keeps the fast timers the fault tests rely on (a cut link
/// shows within seconds). A bigger lab trades that speed for cost: with 1 s timers every node pings,
/// probes, dumps and polls every other node each second, which grows with the square of the nodes
/// and is what keeps 64 nodes from fitting on 2 cores. docs/scale.md has the table.
public struct LabTimers: Codable, Sendable, Equatable {
    /// tinc.conf PingInterval and PingTimeout, seconds.
    public var tincPingInterval: Int
    public var tincPingTimeout: Int
    /// Agent durations (`--collector.probe.interval` and so on), in the agent's duration syntax.
    public var probeInterval: String
    public var birdSamplerInterval: String
    public var birdDetailInterval: String
    public var birdRouteCountInterval: String
    public var tincMinDumpInterval: String
    public var etcdInterval: String
    /// Prometheus scrape and rule evaluation interval, seconds.
    public var scrapeInterval: Int

    /// Largest lab that keeps the fast timers.
    public static let smallLab = 16

    public static func forNodes(_ n: Int) -> LabTimers {
        if n <= smallLab {
            return LabTimers(tincPingInterval: 1, tincPingTimeout: 1, probeInterval: "1s", birdSamplerInterval: "1s",
                             birdDetailInterval: "5s", birdRouteCountInterval: "10s", tincMinDumpInterval: "1s",
                             etcdInterval: "5s", scrapeInterval: 5)
        }
        return LabTimers(tincPingInterval: 10, tincPingTimeout: 5, probeInterval: "5s", birdSamplerInterval: "5s",
                         birdDetailInterval: "30s", birdRouteCountInterval: "60s", tincMinDumpInterval: "15s",
                         etcdInterval: "30s", scrapeInterval: 15)
    }

    /// Prometheus's scrape timeout: below the interval, at most 10 s.
    public var scrapeTimeout: Int { min(scrapeInterval - 1, 10) }

    /// The agent flags these timers set.
    public var agentArguments: [String] {
        ["--collector.probe.interval", probeInterval,
         "--collector.bird.sampler-interval", birdSamplerInterval,
         "--collector.bird.detail-interval", birdDetailInterval,
         "--collector.bird.route-count-interval", birdRouteCountInterval,
         "--collector.tinc.min-dump-interval", tincMinDumpInterval,
         "--collector.etcd.interval", etcdInterval]
    }

    /// Default deadline of `wait converged` for a lab of `n` nodes: 60 s plus 2 s a node.
    public static func convergenceTimeout(nodes n: Int) -> Double { 60 + 2 * Double(n) }
}

/// The kernel's neighbour (ARP / NDP) table limits, which the lab raises for big labs.
///
/// Linux keeps one neighbour table per address family for all network namespaces: every
/// namespace's entries count against `gc_thresh3` of `net.ipv4.neigh.default` (and ipv6), and
/// those sysctls exist only in the initial namespace. Past `gc_thresh3` the kernel refuses new
/// entries ("neighbour: arp_cache: neighbor table overflow!" in dmesg) and a send to an
/// unresolved neighbour fails with ENOBUFS. A lab of N nodes holds about 3 N (N + 1) entries per
/// family (each node: N - 1 underlay and N - 1 overlay peers plus IPv6 link-local ones, the
/// monitoring namespace N), so the default 1024 breaks between 16 and 32 nodes.
public enum NeighbourTables {
    public static let keys: [String] = ["ipv4", "ipv6"].flatMap { fam in
        (1...3).map { "net.\(fam).neigh.default.gc_thresh\($0)" }
    }

    static func path(_ key: String) -> String { "/proc/sys/" + key.replacingOccurrences(of: ".", with: "/") }

    /// Entries a lab of `nodes` nodes may hold per address family.
    public static func entries(nodes n: Int) -> Int { 3 * n * (n + 1) }

    /// The thresholds a lab of `nodes` nodes needs: no garbage collection below the lab's own
    /// entries (gc_thresh1), the hard limit with room for stale entries (4x).
    public static func wanted(nodes n: Int) -> [String: Int] {
        let e = entries(nodes: n)
        var out: [String: Int] = [:]
        for key in keys {
            out[key] = key.hasSuffix("1") ? e : key.hasSuffix("2") ? 2 * e : 4 * e
        }
        return out
    }

    public static func read(_ key: String) -> Int? {
        guard let d = FileManager.default.contents(atPath: path(key)) else { return nil }
        return Int(String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func write(_ key: String, _ value: Int) throws(LabError) {
        let p = path(key)
        guard let h = FileHandle(forWritingAtPath: p) else { throw .io(path: p, reason: "cannot open for writing") }
        defer { try? h.close() }
        do { try h.write(contentsOf: Data("\(value)\n".utf8)) } catch { throw .io(path: p, reason: "\(error)") }
    }

    /// Raises every threshold below what `nodes` need (never lowers one) and returns the values
    /// it replaced, to restore at `down`.
    public static func raise(nodes: Int) throws(LabError) -> [String: Int] {
        var old: [String: Int] = [:]
        // Raise thresh3 before thresh1/2 so the kernel never sees thresh1 > thresh3 meanwhile.
        for key in keys.sorted(by: { $0.suffix(1) > $1.suffix(1) }) {
            guard let want = wanted(nodes: nodes)[key], let now = read(key), now < want else { continue }
            try write(key, want)
            old[key] = now
        }
        return old
    }

    /// Puts back the values `raise` replaced (thresh1 first, the reverse order of `raise`).
    public static func restore(_ old: [String: Int]) -> [String] {
        var failures: [String] = []
        for key in old.keys.sorted(by: { $0.suffix(1) < $1.suffix(1) }) {
            do throws(LabError) { try write(key, old[key]!) } catch { failures.append("\(key): \(error.description)") }
        }
        return failures
    }
}

/// Runs blocking work (child processes, waits) on `width` threads at once; GCD's
/// concurrentPerform stops at the core count, which for waiting work on 2 cores is far too few.
func parallelMap<T: Sendable>(_ count: Int, width: Int = 16, _ body: @Sendable @escaping (Int) -> T) -> [T] {
    guard count > 0 else { return [] }
    let box = ResultsBox<T>(count: count)
    let next = IndexCounter()
    let group = DispatchGroup()
    for _ in 0..<min(width, count) {
        group.enter()
        let t = Thread {
            while let i = next.take(limit: count) { box.set(i, body(i)) }
            group.leave()
        }
        t.stackSize = 1 << 20
        t.start()
    }
    group.wait()
    return box.values.map { $0! }
}

/// Hands out 0, 1, 2 ... below a limit, once each, across threads.
final class IndexCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    func take(limit: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < limit else { return nil }
        next += 1
        return next - 1
    }
}
