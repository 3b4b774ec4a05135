import Foundation
import TestSupport
import XCTest

/// End to end in the style of node_exporter's end-to-end-test.sh: the real `bgpmesh-agent
/// scrape-once` reads a fake BIRD control socket that replays the captured BIRD 2.0.12 replies
/// (Tests/BIRDControlTests/Fixtures) and a tincd stand-in that replays a captured tinc 1.0.36
/// dump into its log (Tests/TincControlTests/Fixtures), and its output must equal
/// `Golden/scrape-once.prom` byte for byte; then `promtool check metrics` must accept it.
///
/// Volatile families (timings, the build's revision) are dropped by name, after checking that
/// they were there; the process collector is off (`--no-collector.process`). Everything else,
/// values included, is in the golden file.
///
/// After an intended change of the output, regenerate the golden file and review its diff:
///
///     BGPMESH_UPDATE_GOLDEN=1 swift test --filter ScrapeOnceGoldenTests
final class ScrapeOnceGoldenTests: XCTestCase {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let golden = testsDir.appendingPathComponent("bgpmesh-agentTests/Golden/scrape-once.prom").path
    static let birdFixtures = testsDir.appendingPathComponent("BIRDControlTests/Fixtures").path
    static let tincFixtures = testsDir.appendingPathComponent("TincControlTests/Fixtures").path

    /// Families whose values change from run to run (durations, ages, the git revision).
    static let volatile: Set<String> = [
        "bgpmesh_bird_route_count_age_seconds",
        "bgpmesh_bird_sampler_poll_duration_seconds",
        "bgpmesh_bird_snapshot_age_seconds",
        "bgpmesh_build_info",
        "bgpmesh_scrape_collector_duration_seconds",
        "tinc_dump_age_seconds",
        // From `show protocols`' time-of-day Since column, placed on today's date (or
        // yesterday's when that time of day has not come yet): they move with the clock.
        "bird_bgp_session_established_timestamp_seconds",
        "bird_proto_state_change_timestamp_seconds",
        "tinc_dump_duration_seconds",
    ]

    /// The reply to each command the collector sends, each captured from BIRD 2.0.12.
    static let birdTranscript: [String: String] = [
        "restrict": "restrict.txt",
        "show status": "show-status.txt",
        "show protocols": "show-protocols.txt",
        "show protocols all": "show-protocols-all.txt",
        "show route count table all": "show-route-count-table-all.txt",
        "show memory": "show-memory.txt",
        "show bfd sessions": "show-bfd-sessions.txt",
    ]

    /// The binary built next to the test bundle; the package's own product, so its absence fails.
    static var agentBinary: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("bgpmesh-agent").path
    }

    func testScrapeOnceMatchesGoldenFile() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.agentBinary) else {
            return XCTFail("bgpmesh-agent was not built at \(Self.agentBinary); run `swift build --build-tests`")
        }
        let replies = try Self.birdTranscript.mapValues { try Array(Data(contentsOf: URL(fileURLWithPath: "\(Self.birdFixtures)/\($0)"))) }
        let nonsense = try Array(Data(contentsOf: URL(fileURLWithPath: "\(Self.birdFixtures)/show-nonsense.txt")))
        let unknown = LockedLines()
        let bird = try FakeUnixServer(greeting: Array(Data(contentsOf: URL(fileURLWithPath: "\(Self.birdFixtures)/banner.txt"))),
                                      replies: { line in
                                          if let reply = replies[line] { return reply }
                                          unknown.append(line)
                                          return nonsense
                                      })
        defer { bird.stop() }
        let tincd = try FakeTincd(capture: "\(Self.tincFixtures)/tinc10-node1-usr2-usr1-all-reachable.log")
        try tincd.start()
        defer { tincd.stop() }
        // The net directory is the captured node1's, copied, so nothing can write into the fixtures.
        let net = tincd.directory + "/net"
        try FileManager.default.copyItem(atPath: "\(Self.tincFixtures)/node1-tinc", toPath: net)

        let arguments = [
            "scrape-once", "--log.level", "debug",
            "--collector.bird.socket", bird.path,
            "--collector.tinc.dir", net,
            "--collector.tinc.pidfile", tincd.pidfile,
            "--collector.tinc.logfile", tincd.logPath,
            "--collector.tinc.signal-lock-file", tincd.directory + "/signal.lock",
            // No such interface: interface counters are host state, not fixture data.
            "--collector.tinc.interface", "bgpmeshgold0",
            // Probes would ping the captured peers; process metrics change from run to run.
            "--no-collector.probe", "--no-collector.process",
            "--repair.mode", "off",
        ]
        // BIRD prints local times without a zone; the captures were made in UTC.
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        let run = try runToCompletion(Self.agentBinary, arguments, environment: environment, timeout: 60)
        XCTAssertEqual(run.status, 0, "scrape-once failed; stderr:\n\(run.stderr)")
        XCTAssertEqual(unknown.lines, [], "the collector sent commands with no captured reply")

        let (stable, dropped) = Self.dropVolatile(run.stdout)
        XCTAssertEqual(dropped, Self.volatile, "volatile families missing from the output")

        if ProcessInfo.processInfo.environment["BGPMESH_UPDATE_GOLDEN"] == "1" {
            try stable.write(toFile: Self.golden, atomically: true, encoding: .utf8)
            print("*** BGPMESH_UPDATE_GOLDEN=1: rewrote \(Self.golden); review `git diff` ***")
        }
        let expected = try String(contentsOfFile: Self.golden, encoding: .utf8)
        if stable != expected {
            let actualPath = NSTemporaryDirectory() + "scrape-once.actual.prom"
            try stable.write(toFile: actualPath, atomically: true, encoding: .utf8)
            let diff = (try? runToCompletion("/usr/bin/diff", ["-u", Self.golden, actualPath]).stdout) ?? "(diff unavailable)"
            XCTFail("scrape-once output differs from \(Self.golden) (regenerate with BGPMESH_UPDATE_GOLDEN=1 if intended):\n\(diff)")
        }

        let check = try Promtool.check(Array(run.stdout.utf8))
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertEqual(check.output, "", "promtool check metrics must report nothing")
    }

    /// The exposition without the volatile families (their HELP, TYPE and sample lines), and
    /// the names of the volatile families that were present.
    static func dropVolatile(_ text: String) -> (String, Set<String>) {
        var dropped = Set<String>()
        var kept: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let name: Substring
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                name = line.dropFirst(7).prefix { $0 != " " }
            } else {
                // A histogram's samples carry a suffix on the family's name.
                let sample = line.prefix { $0 != "{" && $0 != " " }
                name = ["_bucket", "_sum", "_count"].lazy.compactMap { suffix -> Substring? in
                    guard sample.hasSuffix(suffix) else { return nil }
                    let family = sample.dropLast(suffix.count)
                    return volatile.contains(String(family)) ? family : nil
                }.first ?? sample
            }
            if volatile.contains(String(name)) {
                dropped.insert(String(name))
            } else {
                kept.append(line)
            }
        }
        return (kept.joined(separator: "\n"), dropped)
    }
}

/// Lines collected from the fake server's threads.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var value: [String] = []
    func append(_ line: String) { lock.withLock { value.append(line) } }
    var lines: [String] { lock.withLock { value } }
}
