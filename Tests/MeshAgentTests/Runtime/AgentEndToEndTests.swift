import Exposition
import Foundation
import Glibc
import TestSupport
import XCTest

/// Starts the real binary on a loopback port and talks to it over sockets,
/// the way node_exporter's end-to-end test does.
final class AgentEndToEndTests: XCTestCase {
    private var agent: AgentProcess!
    private var port: UInt16 = 0

    override func setUpWithError() throws {
        agent = try AgentProcess(["run", "--web.listen-address", "127.0.0.1:0", "--log.level", "debug"] + AgentProcess.hermetic)
        port = try agent.waitForPort()
    }

    override func tearDown() {
        agent = nil
    }

    func testMetricsAreValidAndCompleteForPromtool() throws {
        let r = try RawHTTPClient.request(port: port, path: "/metrics")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        XCTAssertEqual(r.header("Content-Length"), String(r.body.count))
        let text = r.text
        for needle in ["bgpmesh_build_info{revision=", "swift_version=\"6.", "process_resident_memory_bytes ",
                       "process_open_fds ", "process_cpu_seconds_total ", "process_start_time_seconds ",
                       "bgpmesh_scrape_collector_success{collector=\"process\"} 1",
                       "bgpmesh_scrape_collector_duration_seconds{collector=\"process\"} ",
                       "# TYPE bgpmesh_http_requests_total counter"] {
            XCTAssertTrue(text.contains(needle), "missing \(needle) in:\n\(text)")
        }
        let check = try Promtool.check(r.body)
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertEqual(check.output, "", "promtool check metrics must report nothing")
    }

    func testRequestsAreCountedByHandlerAndCode() throws {
        _ = try RawHTTPClient.request(port: port, path: "/healthz")
        _ = try RawHTTPClient.request(port: port, path: "/no/such/page")
        _ = try RawHTTPClient.request(port: port, path: "/no/other/page")
        let text = try RawHTTPClient.request(port: port, path: "/metrics").text
        XCTAssertTrue(text.contains("bgpmesh_http_requests_total{code=\"200\",handler=\"/healthz\"} 1"), text)
        XCTAssertTrue(text.contains("bgpmesh_http_requests_total{code=\"404\",handler=\"other\"} 2"), text)
    }

    func testOpenMetricsForPrometheusAcceptHeader() throws {
        let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        let r = try RawHTTPClient.request(port: port, path: "/metrics", headers: ["Accept": accept])
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8")
        XCTAssertTrue(r.text.hasSuffix("# EOF\n"))
        XCTAssertTrue(r.text.contains("# TYPE process_cpu_seconds counter"), r.text)
    }

    func testGzipWhenAccepted() throws {
        let r = try RawHTTPClient.request(port: port, path: "/metrics", headers: ["Accept-Encoding": "gzip, deflate"])
        XCTAssertEqual(r.header("Content-Encoding"), "gzip")
        let plain = String(decoding: try Gzip.decompress(r.body), as: UTF8.self)
        XCTAssertTrue(plain.contains("# TYPE bgpmesh_build_info gauge"), plain)
        let refused = try RawHTTPClient.request(port: port, path: "/metrics", headers: ["Accept-Encoding": "gzip;q=0"])
        XCTAssertNil(refused.header("Content-Encoding"))
    }

    func testLandingHealthAndReadiness() throws {
        let landing = try RawHTTPClient.request(port: port, path: "/")
        XCTAssertEqual(landing.status, 200)
        XCTAssertEqual(landing.header("Content-Type"), "text/html; charset=utf-8")
        for link in ["href=\"/metrics\"", "href=\"/healthz\"", "href=\"/readyz\""] {
            XCTAssertTrue(landing.text.contains(link), link)
        }
        XCTAssertEqual(try RawHTTPClient.request(port: port, path: "/healthz").status, 200)
        // The agent collects once at start, so readiness follows within a moment.
        let port = self.port
        waitUntil("/readyz answers 200", timeout: .seconds(5), poll: .milliseconds(50)) {
            (try? RawHTTPClient.request(port: port, path: "/readyz").status) == 200
        }
        let head = try RawHTTPClient.request(port: port, method: "HEAD", path: "/healthz")
        XCTAssertEqual(head.status, 200)
        XCTAssertTrue(head.body.isEmpty)
    }

    func testWrongMethodAndUnknownPath() throws {
        let post = try RawHTTPClient.request(port: port, method: "POST", path: "/metrics", body: Array("x".utf8))
        XCTAssertEqual(post.status, 405)
        XCTAssertEqual(post.header("Allow").map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) },
                       ["GET", "HEAD"])
        XCTAssertEqual(try RawHTTPClient.request(port: port, path: "/nope").status, 404)
    }

    func testSIGTERMWhileRequestsAreInFlightExitsCleanly() throws {
        // Keep scrapes going from several threads, then SIGTERM in the middle.
        let results = LockedCounter()
        let group = DispatchGroup()
        let port = self.port
        for _ in 0..<8 {
            DispatchQueue.global().async(group: group) {
                for _ in 0..<50 {
                    guard let fd = try? RawHTTPClient.connect(port: port) else { results.refused(); continue }
                    RawHTTPClient.send(fd, Array("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
                    let raw = RawHTTPClient.readAll(fd)
                    close(fd)
                    if raw.isEmpty { results.reset() ; continue }
                    if let r = try? RawHTTPClient.parse(raw), r.status == 200, r.header("Content-Length") == String(r.body.count) {
                        results.ok()
                    } else {
                        results.broken()
                    }
                }
            }
        }
        // SIGTERM once scrapes are under way, so some are in flight when it lands.
        waitUntil("a first scrape completed") { results.okCount > 0 }
        kill(agent.process.processIdentifier, SIGTERM)
        group.wait()
        XCTAssertEqual(agent.wait(timeout: 15), 0, agent.stderr)
        XCTAssertGreaterThan(results.okCount, 0)
        XCTAssertEqual(results.brokenCount, 0, "a response that was started must be complete")
        XCTAssertTrue(agent.stderr.contains("msg=stopped"), agent.stderr)
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var counts = [0, 0, 0, 0]
    private func bump(_ i: Int) { lock.lock(); counts[i] += 1; lock.unlock() }
    func ok() { bump(0) }
    func broken() { bump(1) }
    func refused() { bump(2) }
    func reset() { bump(3) }
    var okCount: Int { lock.lock(); defer { lock.unlock() }; return counts[0] }
    var brokenCount: Int { lock.lock(); defer { lock.unlock() }; return counts[1] }
}

/// The one-shot subcommands and the start-up errors an operator sees.
final class AgentCommandLineTests: XCTestCase {
    private func tempFile(_ text: String) -> String {
        let path = NSTemporaryDirectory() + "bgpmesh-test-\(UUID().uuidString).yml"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testVersion() throws {
        let r = try AgentProcess.run(["--version"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.hasPrefix("bgpmesh-agent 0."), r.stdout)
    }

    func testHelpNamesTheFlags() throws {
        let r = try AgentProcess.run(["run", "--help"])
        XCTAssertEqual(r.status, 0)
        for flag in ["--web.listen-address", "--config.file", "--log.level", "--log.format", "--collector.process/--no-collector.process", "--collector.bird.socket"] {
            XCTAssertTrue(r.stdout.contains(flag), "\(flag) missing from:\n\(r.stdout)")
        }
    }

    func testPortInUseIsOneClearLine() throws {
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, len); listen(holder, 1); return getsockname(holder, $0, &len) }
        }
        let port = UInt16(bigEndian: addr.sin_port)
        let r = try AgentProcess.run(["run", "--web.listen-address", "127.0.0.1:\(port)"])
        XCTAssertEqual(r.status, 1)
        let errorLines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("bgpmesh-agent: error:") }
        XCTAssertEqual(errorLines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("127.0.0.1:\(port)") && r.stderr.contains("Address already in use"), r.stderr)
    }

    func testBadListenAddressFlag() throws {
        let r = try AgentProcess.run(["run", "--web.listen-address", "localhost"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "bgpmesh-agent: error: flag --web.listen-address: invalid value \"localhost\" for web.listen-address: expected [host]:port, e.g. :10179\n")
    }

    func testCheckConfigGoodAndBad() throws {
        let good = tempFile("web:\n  listen-address: [\"127.0.0.1:10179\"]\nlog:\n  format: json\n")
        let ok = try AgentProcess.run(["check-config", "--config.file", good])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("config OK"), ok.stdout)

        let bad = tempFile("web:\n  listen-adress: \":1\"\n")
        let r = try AgentProcess.run(["check-config", "--config.file", bad])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "bgpmesh-agent: error: \(bad) line 2: unknown key \"web.listen-adress\"\n")

        let missing = try AgentProcess.run(["check-config", "--config.file", "/nonexistent.yml"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "bgpmesh-agent: error: cannot read config file /nonexistent.yml: No such file or directory (open, errno 2)\n")

        let corrupt = tempFile("web: [unclosed\n")
        let c = try AgentProcess.run(["check-config", "--config.file", corrupt])
        XCTAssertEqual(c.status, 1)
        XCTAssertTrue(c.stderr.hasPrefix("bgpmesh-agent: error: config file \(corrupt) line 2: invalid YAML: "), c.stderr)
        XCTAssertEqual(c.stderr.split(separator: "\n").count, 1, c.stderr)
    }

    func testUnreadableEtcdPasswordFileIsRefusedAtStart() throws {
        let r = try AgentProcess.run(["run", "--web.listen-address", "127.0.0.1:0", "--etcd.endpoints", "http://127.0.0.1:23999",
                                      "--etcd.username", "agent", "--etcd.password-file", "/nonexistent/etcd.pw",
                                      "--etcd.allow-insecure-credentials", "--mesh.overlay-prefixes", "198.51.100.0/24"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("bgpmesh-agent: error: invalid configuration: cannot read etcd.password-file /nonexistent/etcd.pw: "), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
    }

    func testParseTincLogShowsWhatTheCollectorWouldExport() throws {
        let log = Fixture.directory.appendingPathComponent("tinc/tinc10-node1-usr2-usr1-node2-indirect-after-cut-link.log").path
        let r = try AgentProcess.run(["parse-tinc-log", "--repeat", "3", log])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("tinc_node_indirect{peer=\"node2\"} 1"), r.stdout)
        XCTAssertTrue(r.stdout.contains("tinc_edges 4"), r.stdout)
        XCTAssertTrue(r.stderr.hasPrefix("parse median "), r.stderr)
        let bad = try AgentProcess.run(["parse-tinc-log", "/etc/hostname"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.stderr, "bgpmesh-agent: error: /etc/hostname holds no complete tinc dump (Nodes, Edges and Subnet list)\n")
    }

    func testTincConfigurationIsExportedWithTincdDown() throws {
        let dir = Fixture.directory.appendingPathComponent("tinc/node1-tinc").path
        let r = try AgentProcess.run(["scrape-once", "--no-collector.bird", "--no-collector.probe",
                                      "--collector.tinc.dir", dir, "--collector.tinc.pidfile", "/nonexistent-bgpmesh-test/t.pid"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for line in ["tinc_up 0", "tinc_connectto_configured{peer=\"node2\"} 1", "tinc_host_key_valid{peer=\"node3\"} 1",
                     "bgpmesh_scrape_collector_success{collector=\"tinc\"} 1"] {
            XCTAssertTrue(r.stdout.contains(line + "\n"), "missing \(line) in:\n\(r.stdout)")
        }
    }

    func testFlagsWinOverTheFile() throws {
        let file = tempFile("collector:\n  process: false\n")
        let off = try AgentProcess.run(["scrape-once", "--config.file", file] + AgentProcess.hermetic)
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertFalse(off.stdout.contains("process_open_fds"))
        let on = try AgentProcess.run(["scrape-once", "--config.file", file, "--collector.process"] + AgentProcess.hermetic)
        XCTAssertTrue(on.stdout.contains("process_open_fds"), on.stdout)
    }

    func testScrapeOncePassesPromtool() throws {
        let r = try AgentProcess.run(["scrape-once"] + AgentProcess.hermetic)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("bgpmesh_scrape_collector_success{collector=\"process\"} 1"), r.stdout)
        let check = try Promtool.check(Array(r.stdout.utf8))
        XCTAssertEqual(check.output, "")
        let om = try AgentProcess.run(["scrape-once", "--format", "openmetrics"] + AgentProcess.hermetic)
        XCTAssertTrue(om.stdout.hasSuffix("# EOF\n"))
    }
}
