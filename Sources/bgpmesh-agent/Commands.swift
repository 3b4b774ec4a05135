import ArgumentParser
import CLinux
import Exposition
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Logging
import MeshAgent
import POSIXSupport

@main
struct BGPMeshAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bgpmesh-agent",
        abstract: "Prometheus exporter and self-healing health agent for BGP-over-tinc meshes.",
        discussion: """
        Runs next to BIRD 2 and tincd on one node of the mesh and serves /metrics.
        Every flag can also be set in the YAML file given by --config.file, under the
        same dotted name (e.g. `web: {listen-address: [":10179"]}`); flags win.
        """,
        version: BuildInfo.versionLine,
        subcommands: [Run.self, CheckConfig.self, ScrapeOnce.self, ParseTincLog.self, Trust.self, Enroll.self, Fingerprint.self, RotateKey.self, Status.self, JoinCommand.self,
                      ConfigReference.self],
        defaultSubcommand: Run.self
    )
}

/// Prints one clear line and exits 1: no stack traces for operator mistakes.
func fail(_ message: String) -> ExitCode {
    try? Syscall.writeAll(2, Array("bgpmesh-agent: error: \(message)\n".utf8))
    return ExitCode(1)
}

func bootstrapLogging(_ config: AgentConfiguration) -> Logger {
    let level = config.logLevel
    let format = config.logFormat
    LoggingSystem.bootstrap { label in StructuredLogHandler(label: label, level: level, format: format) }
    return Logger(label: "bgpmesh-agent")
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve /metrics and run the agent (the default).",
                                                    discussion: SettingsReference.help())

    @OptionGroup var options: AgentOptions

    func run() async throws {
        let config: AgentConfiguration
        do { config = try options.resolve() } catch { throw fail(error.description) }
        do { try Agent.validate(config) } catch { throw fail("\(error)") }
        let logger = bootstrapLogging(config)
        // glibc gives every thread that mallocs its own arena; the cooperative pool's
        // threads then hold on to freed scrape buffers. Two arenas cut the peak RSS of a
        // large BIRD scrape by a quarter (bench-bird: 55 -> 41 MiB) at no measurable cost.
        _ = bgpmesh_set_malloc_arena_max(2)
        // glibc raises its mmap threshold to the size of the largest block freed so far (up
        // to 32 MiB), so after the first scrape the big buffers come from the heap, and
        // fragments of them stay resident: the RSS crept up scrape after scrape. Fixed at
        // 128 KiB, big buffers are mapped and unmapped and the heap top is trimmed
        // (bench-bird, peak after 20 scrapes: 40 -> 29 MiB; scrape time unchanged).
        _ = bgpmesh_set_malloc_release_threshold(128 << 10)
        let agent = Agent(configuration: config, logger: logger)
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT])
        do { try agent.start() } catch { throw fail(error.description) }
        let signal = await signals.next()
        logger.info("received signal, stopping", metadata: ["signal": "\(signal == SIGTERM ? "SIGTERM" : "SIGINT")"])
        await agent.shutdown(gracePeriod: config.shutdownGrace)
        logger.info("stopped")
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a config file (and flags) and exit: 0 if valid, 1 with the reason if not.",
        discussion: SettingsReference.help())

    @OptionGroup var options: AgentOptions

    func run() throws {
        guard options.configFile != nil else { throw fail("check-config needs --config.file <path>") }
        let config: AgentConfiguration
        do { config = try options.resolve() } catch { throw fail(error.description) }
        do { try Agent.validate(config) } catch { throw fail("\(error)") }
        print("config OK: \(options.configFile!)")
        print("  listen: \(config.listenAddresses.joined(separator: " "))")
        print("  collectors: \(config.enabledCollectors.joined(separator: ", "))")
        print("  log: \(config.logLevel.rawValue) \(config.logFormat.rawValue)")
    }
}

struct ScrapeOnce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scrape-once",
        abstract: "Run every enabled collector once and print the metrics to stdout.",
        discussion: "Exits 1 if a collector failed, after printing everything that was collected.\n\n" + SettingsReference.help())

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, openmetrics }

    @OptionGroup var options: AgentOptions

    @Option(help: "Exposition format: text (0.0.4) or openmetrics.")
    var format: Format = .text

    func run() async throws {
        let config: AgentConfiguration
        do { config = try options.resolve() } catch { throw fail(error.description) }
        let logger = bootstrapLogging(config)
        let agent = Agent(configuration: config, logger: logger)
        let families = await agent.gather()
        let bytes = ExpositionEncoder.encode(families, format: format == .text ? .text004 : .openMetrics100)
        do { try Syscall.writeAll(1, bytes) } catch { throw fail("cannot write the metrics to standard output: \(error)") }
        let failed = agent.collectors.lastReports.filter { !$0.success }
        if !failed.isEmpty {
            throw fail("collector(s) failed: " + failed.map { "\($0.name) (\($0.error ?? "?"))" }.joined(separator: "; "))
        }
    }
}

struct ParseTincLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse-tinc-log",
        abstract: "Print the tinc metrics the agent would export from a saved tincd log (its newest USR2/USR1 dump).",
        discussion: "With --repeat N, also prints the median parse time of N runs to stderr (make bench-tinc uses it).")

    @Argument(help: ArgumentHelp("A tincd log file holding a dump.", valueName: "file"))
    var file: String

    @Option(help: "Parse this many times and report the median time.")
    var `repeat` = 1

    func run() throws {
        let bytes: [UInt8]
        do { bytes = try RegularFile.read(file, limit: 1 << 30) } catch { throw fail("cannot read \(file): \(error.reason)") }
        var times: [Double] = []
        var families: [MetricFamily]?
        let clock = ContinuousClock()
        for _ in 0..<max(1, self.repeat) {
            let start = clock.now
            families = TincLogInspection.families(log: bytes)
            let took = clock.now - start
            times.append(Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
        }
        guard let families else { throw fail("\(file) holds no complete tinc dump (Nodes, Edges and Subnet list)") }
        do {
            try Syscall.writeAll(1, ExpositionEncoder.encode(families, format: .text004))
        } catch {
            throw fail("cannot write the metrics to standard output: \(error)")
        }
        if self.repeat > 1 {
            let median = times.sorted()[times.count / 2]
            let line = "parse median \(NumberText.fixed(median * 1000, decimals: 2)) ms over \(times.count) runs, \(bytes.count) bytes\n"
            try? Syscall.writeAll(2, Array(line.utf8))
        }
    }
}

/// Prints docs/configuration.md, generated from the settings table (hidden; the
/// reference test says when the committed file is stale).
struct ConfigReference: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config-reference",
        abstract: "Print the configuration reference (docs/configuration.md) in Markdown.",
        shouldDisplay: false)

    func run() throws {
        print(SettingsReference.markdown(), terminator: "")
    }
}
