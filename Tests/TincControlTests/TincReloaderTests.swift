import Foundation
import Glibc
import Logging
@testable import TincControl
import XCTest

/// The reload dispatch: HUP then ALRM to tinc 1.0, reload then retry over tinc 1.1's control
/// socket, chosen by the pidfile's format.
final class TincReloaderTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try Fixture.temporaryDirectory("reloader")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func daemon(pidfile: String, probe: TincProcessProbe? = nil) -> TincDaemonClient {
        let configuration = TincDaemonClient.Configuration(
            net: "bgpmesh", directory: directory, pidfile: pidfile, signalSpacing: .milliseconds(20))
        guard let probe else { return TincDaemonClient(configuration: configuration, logger: Logger(label: "test")) }
        return TincDaemonClient(configuration: configuration, logger: Logger(label: "test"), probe: probe)
    }

    func testTinc10GetsHUPThenALRM() async throws {
        let fake = try FakeTincDaemon(logPath: directory + "/tincd.log")
        try "\(fake.pid)\n".write(toFile: directory + "/tincd.pid", atomically: true, encoding: .utf8)
        let reloader = TincReloader(daemon: daemon(pidfile: directory + "/tincd.pid", probe: fake.probe))
        XCTAssertFalse(reloader.speaksControlSocket)
        try await reloader.reloadAndRetry()
        XCTAssertEqual(fake.signals, [SIGHUP, SIGALRM])
        try await reloader.retry()
        XCTAssertEqual(fake.signals, [SIGHUP, SIGALRM, SIGALRM])
    }

    func testTinc11GetsReloadThenRetryOverTheControlSocket() async throws {
        let fake = try FakeTincControlSocket(directory: directory, transcripts: [
            "tinc11-pre18-reload-retry-purge.synthetic-from-format-strings.txt",
            "tinc11-pre18-retry.synthetic-from-format-strings.txt",
            "tinc11-pre18-retry.synthetic-from-format-strings.txt",
        ])
        defer { fake.stop() }
        let reloader = TincReloader(daemon: daemon(pidfile: fake.pidfilePath))
        XCTAssertTrue(reloader.speaksControlSocket)
        try await reloader.reloadAndRetry()
        try await reloader.retry()
        XCTAssertEqual(fake.mismatches, [])
        XCTAssertEqual(fake.connections, 3)
    }

    func testTinc11ReloadFailureIsTypedAndSkipsTheRetry() async throws {
        let fake = try FakeTincControlSocket(directory: directory, transcripts: ["tinc11-pre18-reload-fails.synthetic-from-format-strings.txt"])
        defer { fake.stop() }
        let reloader = TincReloader(daemon: daemon(pidfile: fake.pidfilePath))
        do {
            try await reloader.reloadAndRetry()
            XCTFail("expected a daemon error")
        } catch {
            XCTAssertEqual(error, .daemon(request: "reload", result: 1))
        }
        XCTAssertEqual(fake.mismatches, [])
        XCTAssertEqual(fake.connections, 1)
    }
}
