import Exposition
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TincControl

/// The `tinc` collector: tincd's last dump and the configuration and host files,
/// both read by the dump sampler, and the interface counters, read per scrape (sysfs, not
/// tincd). A dead tincd gives `tinc_up 0` at the next scrape, and everything that needs no daemon.
public final class TincCollector: Collector {
    public let name = "tinc"
    let client: TincDaemonClient
    let dumps: TincDumpState
    let interfaceName: String?
    let sysfsRoot: String

    public init(client: TincDaemonClient, dumps: TincDumpState, interface: String? = nil,
                sysfsRoot: String = "/sys") {
        self.client = client
        self.dumps = dumps
        self.interfaceName = interface
        self.sysfsRoot = sysfsRoot
    }

    public func collect() async throws -> [MetricFamily] {
        return TincMetrics.families(read(), dumpErrors: dumps.state.withLock { $0.errors })
    }

    func read() -> TincCollectorSnapshot {
        var s = TincCollectorSnapshot()
        (s.config, s.hosts, s.errors) = dumps.state.withLock { ($0.config, $0.hosts, $0.configErrors) }
        // The Interface variable, else the net name, as tincd itself does.
        let interface = interfaceName ?? s.config?.values("Interface").first ?? client.configuration.net
        do {
            s.interface = try TincInterfaceStatistics.read(interface: interface, sysfsRoot: sysfsRoot)
        } catch {
            s.errors.append("\(error)")
        }
        let (snapshot, error, took) = dumps.state.withLock { ($0.snapshot, $0.lastError, $0.lastDumpDuration) }
        // tinc_up follows the process now (pidfile, live pid, this net's tincd), not the last dump.
        s.running = (try? client.verifiedProcess()) != nil
        s.dumpDuration = took
        if let snapshot {
            s.dump = snapshot.dump
            s.dumpAge = snapshot.age().seconds
        }
        if let error { s.errors.append("\(error)") }
        return s
    }
}
