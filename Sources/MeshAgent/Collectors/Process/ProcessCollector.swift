import Exposition
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import POSIXSupport

/// The standard `process_*` metrics of the agent itself, read from /proc.
public struct ProcessCollector: Collector {
    public let name = "process"
    /// Where procfs lives; tests point it at captured files.
    public let procRoot: String
    public let pid: String

    public init(procRoot: String = "/proc", pid: String = "self") {
        self.procRoot = procRoot
        self.pid = pid
    }

    public func collect() async throws -> [MetricFamily] {
        let base = "\(procRoot)/\(pid)"
        let stat = try ProcFS.parseStat(try read("\(base)/stat"))
        let maxFDs = try ProcFS.parseMaxOpenFiles(try read("\(base)/limits"))
        let bootTime = try ProcFS.parseBootTime(try read("\(procRoot)/stat"))
        let openFDs = try FileManager.default.contentsOfDirectory(atPath: "\(base)/fd").count
        let ticks = Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        let pageSize = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 1))

        var families: [MetricFamily] = [
            .counter("process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.",
                     [Metric([], Double(stat.utimeTicks + stat.stimeTicks) / ticks)]),
            .gauge("process_resident_memory_bytes", help: "Resident memory size in bytes.",
                   [Metric([], Double(stat.residentPages * pageSize))]),
            .gauge("process_virtual_memory_bytes", help: "Virtual memory size in bytes.",
                   [Metric([], Double(stat.virtualMemoryBytes))]),
            .gauge("process_open_fds", help: "Number of open file descriptors.", [Metric([], Double(openFDs))]),
            .gauge("process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.",
                   [Metric([], Double(bootTime) + Double(stat.startTimeTicks) / ticks)]),
        ]
        if let maxFDs {
            families.append(.gauge("process_max_fds", help: "Maximum number of open file descriptors.",
                                   [Metric([], Double(maxFDs))]))
        }
        return families
    }

    private func read(_ path: String) throws -> String {
        do {
            return String(decoding: try RegularFile.read(path, limit: 1 << 20), as: UTF8.self)
        } catch {
            throw ProcFS.ParseError.malformed(file: path, reason: "cannot read: \(error.reason)")
        }
    }
}
