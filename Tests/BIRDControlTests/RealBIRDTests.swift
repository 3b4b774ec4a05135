@testable import BIRDControl
import Foundation
import Glibc
import TestSupport
import XCTest

/// The client against a real BIRD 2 started in a temporary directory (no kernel protocol, so it
/// touches no routes and needs no namespace).
final class RealBIRDTests: XCTestCase {
    private var bird: RealBIRD!
    private var directory: String { bird.directory }
    private var socketPath: String { bird.socketPath }

    override func setUpWithError() throws {
        bird = try RealBIRD()
        try bird.start()
    }

    override func tearDown() {
        bird?.stop()
        bird = nil
    }

    private func startBIRD() throws { try bird.start() }
    private func stopBIRD() { bird.stop() }

    func testRestrictedSessionReadsEverything() async throws {
        let client = BIRDClient(socketPath: socketPath, restricted: true, timeout: .seconds(5))
        let status = try await client.status()
        XCTAssertTrue(status.version.hasPrefix("2."))
        XCTAssertEqual(status.routerID, "192.0.2.9")
        XCTAssertEqual(status.daemonState, .up)
        XCTAssertNotNil(status.serverTime)
        XCTAssertLessThan(abs(status.serverTime!.timeIntervalSinceNow), 60)
        let protocols = try await client.protocols(all: true)
        XCTAssertEqual(protocols.protocols.map(\.name), ["device1", "static1"])
        XCTAssertEqual(protocols.unrecognizedLines, 0)
        let ipv4 = try XCTUnwrap(protocols["static1"]?.channel("ipv4"))
        XCTAssertEqual(ipv4.routes, BIRDRouteCounters(imported: 1, filtered: nil, exported: 0, preferred: 1))
        XCTAssertEqual(ipv4.stats?.importWithdraws.filtered, nil)
        XCTAssertLessThan(abs(protocols["static1"]!.since!.timeIntervalSinceNow), 60)
        let count = try await client.routeCount()
        XCTAssertEqual(count["master4"]?.routes, 1)
        let memory = try await client.memory()
        XCTAssertGreaterThan(memory.total?.effectiveBytes ?? 0, 1000)
        let bfd = try await client.bfdSessions()
        XCTAssertEqual(bfd, BIRDBFDSessions())
        do {
            _ = try await client.protocols(matching: "\"nosuch*\"")
            XCTFail("expected 8003")
        } catch {
            XCTAssertEqual(error, .daemon(code: 8003, text: "No protocols match", command: "show protocols all \"nosuch*\""))
        }
        XCTAssertEqual(client.statistics.connects, 1)
    }

    func testMutatingCommandOverRestrictedSessionIsDenied() async throws {
        let client = BIRDClient(socketPath: socketPath, restricted: true)
        do {
            try await client.disable(protocol: "static1")
            XCTFail("a restricted session disabled a protocol")
        } catch {
            XCTAssertEqual(error, .daemon(code: 8007, text: "Access denied", command: "disable static1"))
        }
        do {
            try await client.configure()
            XCTFail("a restricted session reconfigured BIRD")
        } catch {
            XCTAssertEqual(error, .daemon(code: 8007, text: "Access denied", command: "configure"))
        }
        let protocols = try await client.protocols(all: false)
        XCTAssertEqual(protocols["static1"]?.state, .up)
    }

    func testUnrestrictedSessionRepairs() async throws {
        let repair = BIRDClient(socketPath: socketPath, restricted: false)
        let disabled = try await repair.disable(protocol: "static1")
        XCTAssertEqual(disabled.texts.first, "static1: disabled")
        XCTAssertEqual(disabled.lines.first?.code, 9)
        let reader = BIRDClient(socketPath: socketPath)
        let afterDisable = try await reader.protocols(all: false)
        XCTAssertEqual(afterDisable["static1"]?.state, .down)
        let enabled = try await repair.enable(protocol: "static1")
        XCTAssertEqual(enabled.texts.first, "static1: enabled")
        let restarted = try await repair.restart(protocol: "static1")
        XCTAssertEqual(restarted.texts.first, "static1: restarted")
        let configured = try await repair.configure(file: directory + "/bird.conf")
        XCTAssertTrue([3, 4, 19, 0].contains(configured.code), "\(configured.texts)")
    }

    func testReconnectsAfterBIRDRestartsWithoutLeaks() async throws {
        let client = BIRDClient(socketPath: socketPath, timeout: .seconds(2))
        _ = try await client.status()
        let before = openFileDescriptorCount()

        stopBIRD()
        do {
            _ = try await client.status()
            XCTFail("status succeeded with BIRD stopped")
        } catch {
            switch error {
            case .connect, .closed, .io: break
            default: XCTFail("unexpected error \(error)")
            }
        }
        for _ in 0..<20 {
            do {
                _ = try await client.status()
                XCTFail("status succeeded with BIRD stopped")
            } catch {}
        }
        XCTAssertFalse(client.isConnected)
        try startBIRD()
        let status = try await client.status()
        XCTAssertEqual(status.routerID, "192.0.2.9")
        XCTAssertEqual(client.statistics.connects, 2)
        for _ in 0..<50 { _ = try await client.protocols(all: true) }
        XCTAssertEqual(openFileDescriptorCount(), before, "descriptors leaked")
    }
}
