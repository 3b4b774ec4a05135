import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `down` removed.
public struct DownReport: Sendable {
    public var processes = 0
    public var namespaces: [String] = []
    public var links: [String] = []
    /// Things `down` could not remove, one line each.
    public var failures: [String] = []
    /// Kernel settings `up` had raised and `down` put back, as `key=value`.
    public var restored: [String] = []
}

extension Lab {
    /// Stops every process and removes every namespace and link of the lab. Works without state,
    /// after a crashed `up`, and when nothing is left (idempotent).
    public func down() -> DownReport {
        var report = DownReport()
        let savedState = try? LabState.load(stateDir: stateDir)
        let namespaces = Netns.labNamespaces()
        let nsInodes = Set(namespaces.compactMap { inode("/run/netns/\($0)") })

        // 1. By pidfile, when the pid still belongs to the lab (a lab namespace or the forwarder).
        var pids: [Int32] = []
        for file in pidfiles() {
            guard let p = Command.readPid(file), Command.isAlive(p) else { continue }
            if let ns = netnsInode(of: p), nsInodes.contains(ns) { pids.append(p); continue }
            if isForwarder(p) { pids.append(p) }
        }
        // 2. By namespace: anything still running inside a lab namespace.
        for ns in namespaces { pids += Netns.pids(in: ns) }
        // 3. Forwarders of any state directory.
        pids += forwarderPids()
        let unique = Array(Set(pids)).filter { $0 > 1 && $0 != getpid() }
        for p in unique { kill(p, SIGTERM) }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && unique.contains(where: Command.isAlive) { usleep(20_000) }
        for p in unique where Command.isAlive(p) { kill(p, SIGKILL) }
        let killDeadline = Date().addingTimeInterval(3)
        while Date() < killDeadline && unique.contains(where: Command.isAlive) { usleep(20_000) }
        report.processes = unique.count
        for p in unique where Command.isAlive(p) { report.failures.append("process \(p) survived SIGKILL") }

        // 4. Namespaces (their veth ends go with them), then root-namespace links.
        for ns in namespaces {
            for p in Netns.pids(in: ns) { kill(p, SIGKILL) }
            if let r = try? Command.run([Netns.ip, "netns", "del", ns], timeout: 10), r.succeeded {
                report.namespaces.append(ns)
            } else {
                report.failures.append("namespace \(ns) could not be deleted")
            }
        }
        for link in Netns.labRootLinks() {
            if let r = try? Command.run([Netns.ip, "link", "del", link], timeout: 10), r.succeeded {
                report.links.append(link)
            } else {
                report.failures.append("link \(link) could not be deleted")
            }
        }
        // 5. The neighbour table limits `up` raised, once the lab's entries are gone.
        if let old = savedState?.neighbourSysctlsBefore, !old.isEmpty {
            let failed = NeighbourTables.restore(old)
            report.failures += failed.map { "could not restore \($0)" }
            report.restored = old.keys.sorted().map { "\($0)=\(old[$0]!)" }
        }
        // 6. Runtime files; logs and configs stay for a post-mortem until the next `up`.
        for file in pidfiles() { try? FileManager.default.removeItem(atPath: file) }
        for e in (try? FileManager.default.contentsOfDirectory(atPath: stateDir)) ?? [] where e.hasPrefix("node") {
            try? FileManager.default.removeItem(atPath: "\(stateDir)/\(e)/bird/bird.ctl")
        }
        try? FileManager.default.removeItem(atPath: LabState.path(stateDir))
        return report
    }

    func pidfiles() -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        if fm.fileExists(atPath: forwarderPidfile) { out.append(forwarderPidfile) }
        for e in (try? fm.contentsOfDirectory(atPath: stateDir)) ?? [] where e.hasPrefix("node") || e == "mon" {
            let run = "\(stateDir)/\(e)/run"
            for f in (try? fm.contentsOfDirectory(atPath: run)) ?? [] where f.hasSuffix(".pid") {
                out.append("\(run)/\(f)")
            }
        }
        return out
    }

    func inode(_ path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt64(st.st_ino)
    }

    func netnsInode(of pid: Int32) -> UInt64? {
        inode("/proc/\(pid)/ns/net")
    }

    func cmdline(_ pid: Int32) -> [String] {
        guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return d.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    func isForwarder(_ pid: Int32) -> Bool {
        let c = cmdline(pid)
        return c.contains("_forward") && c.contains(LabNames.monitoringNamespace)
    }

    /// Forwarders found by command line, for a `down` without state.
    func forwarderPids() -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { isForwarder($0) }
    }
}
