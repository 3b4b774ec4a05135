import BIRDControl
import Foundation
import Glibc
import Logging
import TestSupport
import XCTest
@testable import MeshAgent

/// The writer against a real BIRD 2.0.12 on a temporary socket, whose bird.conf holds the
/// operator's template and includes the file the writer owns.
final class BGPPeersWriterTests: XCTestCase {
    private var bird: RealBIRD!
    private var stateDirectory = ""
    private var peersPath: String { bird.directory + "/bgpmesh-peers.conf" }
    private static let template = "template bgp bgpmesh { local 198.51.100.1 as 65000; ipv4 { import all; export none; }; }"

    override func setUpWithError() throws {
        bird = try RealBIRD()
        stateDirectory = bird.directory + "/state"
    }

    override func tearDown() {
        bird?.stop()
        bird = nil
    }

    /// bird.conf: the template, then the include. A glob include lets BIRD start before the file
    /// exists (docs/bird-peers.md).
    private func configure(template: String = template, glob: Bool = true) throws {
        let include = glob ? bird.directory + "/bgpmesh-peers*.conf" : peersPath
        try """
        router id 192.0.2.9;
        log "\(bird.directory)/bird.log" all;
        timeformat protocol "%F %T.%6f";
        protocol device {}
        \(template)
        include "\(include)";

        """.write(toFile: bird.directory + "/bird.conf", atomically: true, encoding: .utf8)
    }

    private func writer(bfd: Bool = false, passwordFile: String? = nil, role: BGPRole = .client, topology: BGPTopology = .full,
                        socket: String? = nil) -> BGPPeersWriter {
        var settings = BGPPeersWriter.Settings(path: peersPath, bfd: bfd, passwordFile: passwordFile, role: role, topology: topology,
                                               registryPrefix: "/bgpmesh/test/", stateDirectory: stateDirectory)
        settings.retryBase = .milliseconds(1)
        settings.retryCap = .milliseconds(5)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let client = BIRDClient(socketPath: socket ?? bird.socketPath, restricted: false, timeout: .seconds(5))
        return BGPPeersWriter(settings: settings, bird: client, logger: logger)
    }

    private func offer(_ writer: BGPPeersWriter, _ indices: [Int], kept: Set<String> = []) async {
        writer.offer(.init(me: "node1", records: BGPPeersTestRecords.records(indices), kept: kept))
        await writer.round()
    }

    /// BIRD's protocols by name, with their `since` (seconds since 1970, to the microsecond).
    private func protocols() async throws -> [String: Double] {
        let list = try await BIRDClient(socketPath: bird.socketPath).protocols(all: false)
        return try Dictionary(uniqueKeysWithValues: list.protocols.map {
            ($0.name, try XCTUnwrap($0.since, "\($0.name)'s since \($0.sinceText) does not parse").timeIntervalSince1970)
        })
    }

    /// BIRD 2.0.12 prints a protocol's since from its monotonic clock plus the wall clock's
    /// offset at the time of the command, so two `show protocols` may differ by a microsecond.
    private func assertSameSince(_ a: [String: Double], _ b: [String: Double], _ names: [String], _ message: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        for name in names {
            guard let x = a[name], let y = b[name] else { return XCTFail("\(name) missing: \(message)", file: file, line: line) }
            XCTAssertEqual(x, y, accuracy: 0.000_5, "\(name): \(message)", file: file, line: line)
        }
    }

    private func fileBytes() -> [UInt8]? {
        FileManager.default.contents(atPath: peersPath).map(Array.init)
    }

    func testAppliesAndConfigureKeepsUnchangedProtocols() async throws {
        try configure()
        try bird.start()
        let writer = writer()
        await offer(writer, [1, 2, 3])
        var state = writer.state
        XCTAssertNil(state.refused)
        XCTAssertNil(state.conflict)
        XCTAssertFalse(state.pending)
        XCTAssertNotNil(state.lastApplied)
        XCTAssertEqual(state.plan?.peers.map(\.name), ["node2", "node3"])
        XCTAssertTrue(BGPPeersFile.hasMarker(try XCTUnwrap(fileBytes())))
        let first = try await protocols()
        XCTAssertEqual(first.keys.filter { $0.hasPrefix("bgpmesh_") }.sorted(), ["bgpmesh_node2", "bgpmesh_node3"])

        // A new node: its protocol appears; the others keep their state and since.
        await offer(writer, [1, 2, 3, 4])
        let second = try await protocols()
        XCTAssertNotNil(second["bgpmesh_node4"])
        assertSameSince(second, first, ["bgpmesh_node2", "bgpmesh_node3"], "configure restarted an unchanged protocol")
        XCTAssertEqual(writer.metrics.values.withLock { $0.applies[.applied] }, 2)

        // The control: a peer whose address changed is restarted by the same configure (once
        // BIRD's clock is well past the first since, so a restart cannot hide in the tolerance).
        let since3 = try XCTUnwrap(first["bgpmesh_node3"])
        waitUntil("the wall clock is 5 ms past node3's since") { Date().timeIntervalSince1970 > since3 + 0.005 }
        writer.offer(.init(me: "node1", records: [BGPPeersTestRecords.record(1), BGPPeersTestRecords.record(2),
                                                  BGPPeersTestRecords.record(3, address: "198.51.100.33"), BGPPeersTestRecords.record(4)]))
        await writer.round()
        let third = try await protocols()
        XCTAssertGreaterThan(try XCTUnwrap(third["bgpmesh_node3"]), since3 + 0.004, "the control: a changed protocol must show a new since")
        assertSameSince(third, first, ["bgpmesh_node2"], "configure restarted an unchanged protocol")

        // Nothing changed: no write, no configure.
        let writes = writer.metrics.values.withLock { $0.writes }
        await writer.round()
        XCTAssertEqual(writer.metrics.values.withLock { $0.writes }, writes)
        XCTAssertEqual(writer.metrics.values.withLock { $0.applies[.applied] }, 3)

        // node4 removed but on hold: its block stays; released: its protocol goes.
        await offer(writer, [1, 2, 3], kept: ["node4"])
        let held = try await protocols()
        XCTAssertNotNil(held["bgpmesh_node4"])
        XCTAssertEqual(writer.state.kept, ["node4"])
        await offer(writer, [1, 2, 3])
        try await waitUntil("BIRD has no protocol bgpmesh_node4") { try await protocols()["bgpmesh_node4"] == nil }
        state = writer.state
        XCTAssertEqual(state.kept, [])
        XCTAssertEqual(writer.metrics.values.withLock { $0.configured }, 2)
    }

    func testRefusedConfigPutsThePreviousBytesBackAndIsRetried() async throws {
        // The operator's template has no local address: BIRD refuses BFD on these (multihop) sessions.
        try configure(template: "template bgp bgpmesh { local as 65000; ipv4 { import all; export none; }; }")
        try bird.start()
        await offer(writer(), [1, 2])
        let applied = try XCTUnwrap(fileBytes())
        let before = try await protocols()

        let bfd = writer(bfd: true)
        await offer(bfd, [1, 2])
        var state = bfd.state
        let refusal = try XCTUnwrap(state.refused)
        XCTAssertTrue(refusal.message.hasPrefix("8002 "), refusal.message)
        XCTAssertTrue(refusal.message.hasSuffix("Multihop BGP with BFD requires specified local address"), refusal.message)
        XCTAssertEqual(fileBytes(), applied, "the previous bytes are back")
        XCTAssertNil(state.lastApplied)
        var values = bfd.metrics.values.withLock { $0 }
        XCTAssertEqual(values.applies[.refused], 1)
        XCTAssertEqual(values.rollbacks, 1)
        XCTAssertTrue(values.refused)
        let after = try await protocols()
        XCTAssertEqual(after.keys.sorted(), before.keys.sorted())
        assertSameSince(after, before, Array(before.keys), "BIRD runs the previous config, untouched")

        // Refused again after the backoff: the same since.
        try await waitUntil("the refused config is tried again") {
            await bfd.round()
            return bfd.metrics.values.withLock { $0.applies[.refused] ?? 0 } >= 2
        }
        XCTAssertEqual(bfd.state.refused?.since, refusal.since)
        XCTAssertEqual(fileBytes(), applied)

        // The operator fixes the template: the next retry applies.
        try configure()
        try await waitUntil("the config is applied once bird.conf is fixed") {
            await bfd.round()
            return bfd.state.refused == nil
        }
        state = bfd.state
        XCTAssertNotNil(state.lastApplied)
        values = bfd.metrics.values.withLock { $0 }
        XCTAssertFalse(values.refused)
        XCTAssertEqual(values.applies[.applied], 1)
        XCTAssertTrue(String(decoding: try XCTUnwrap(fileBytes()), as: UTF8.self).contains("\tbfd on;\n"))
    }

    func testTheLoopAppliesEachOfferThatChangesSomething() async throws {
        try configure()
        try bird.start()
        let writer = writer()
        let loop = Task { await writer.run() }
        defer { loop.cancel() }
        writer.offer(.init(me: "node1", records: BGPPeersTestRecords.records([1, 2])))
        try await waitUntil("the loop applied node2") { try await protocols()["bgpmesh_node2"] != nil && writer.state.lastApplied != nil }
        writer.offer(.init(me: "node1", records: BGPPeersTestRecords.records([1, 2, 3])))
        try await waitUntil("the loop applied node3") { try await protocols()["bgpmesh_node3"] != nil }
        loop.cancel()
        await loop.value
    }

    func testAReflectorsClientOfAnotherASDoesNotMakeBIRDRefuseTheFile() async throws {
        try configure()
        try bird.start()
        let writer = writer(role: .reflector, topology: .reflectors)
        writer.offer(.init(me: "node1", records: BGPPeersTestRecords.records([1, 2, 3]) + [BGPPeersTestRecords.record(4, asn: 65001)]))
        await writer.round()
        XCTAssertNil(writer.state.refused, "BIRD refuses rr client on an external session: \(String(describing: writer.state.refused))")
        XCTAssertNotNil(writer.state.lastApplied)
        let running = try await protocols()
        XCTAssertEqual(running.keys.filter { $0.hasPrefix("bgpmesh_") }.sorted(), ["bgpmesh_node2", "bgpmesh_node3"])
    }

    func testRefusedFirstFileIsRemovedAgain() async throws {
        try configure(template: "template bgp tpl_other { local as 65000; ipv4; }")
        try bird.start()
        let writer = writer()
        await offer(writer, [1, 2])
        XCTAssertNotNil(writer.state.refused)
        XCTAssertNil(fileBytes(), "there was no file before: there is none after")
        let running = try await protocols()
        XCTAssertEqual(running.keys.sorted(), ["device1"])
    }

    func testBIRDDownKeepsTheFileAndAppliesWhenBIRDAnswers() async throws {
        try configure()
        let writer = writer()
        await offer(writer, [1, 2])
        XCTAssertTrue(writer.state.pending)
        XCTAssertNil(writer.state.lastApplied)
        XCTAssertEqual(writer.metrics.values.withLock { $0.applies[.unavailable] }, 1)
        let written = try XCTUnwrap(fileBytes())
        XCTAssertTrue(BGPPeersFile.hasMarker(written))

        // BIRD starts and reads the file itself; the writer's retry applies it.
        try bird.start()
        let started = try await protocols()
        XCTAssertNotNil(started["bgpmesh_node2"], "BIRD read the file at start")
        try await waitUntil("the writer applies the file once BIRD answers") {
            await writer.round()
            return !writer.state.pending
        }
        XCTAssertNotNil(writer.state.lastApplied)
        XCTAssertEqual(fileBytes(), written)
        XCTAssertFalse(writer.metrics.values.withLock { $0.pending })
    }

    func testPasswordFileModeAndFileMode() async throws {
        try configure()
        try bird.start()
        let password = bird.directory + "/password"
        try "tinc-is-not-enough\n".write(toFile: password, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(password, 0o644), 0)
        let writer = writer(passwordFile: password)
        await offer(writer, [1, 2])
        XCTAssertNil(fileBytes(), "no file without a usable password")
        XCTAssertTrue(writer.state.error?.contains("chmod 600") ?? false, "\(String(describing: writer.state.error))")
        XCTAssertFalse(writer.state.error?.contains("tinc-is-not-enough") ?? true)
        XCTAssertEqual(writer.metrics.values.withLock { $0.errors["password"] }, 1)

        XCTAssertEqual(chmod(password, 0o600), 0)
        await writer.round()
        XCTAssertNil(writer.state.error)
        XCTAssertNotNil(writer.state.lastApplied)
        let text = String(decoding: try XCTUnwrap(fileBytes()), as: UTF8.self)
        XCTAssertTrue(text.contains("\tpassword \"tinc-is-not-enough\";\n"))
        var info = stat()
        XCTAssertEqual(stat(peersPath, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o640, "a file with a password is not world-readable")
    }
}

/// Who owns the file: no BIRD needed (its socket does not exist, so applies stay pending).
final class BGPPeersOwnershipTests: XCTestCase {
    private var directory = ""
    private var path: String { directory + "/bgpmesh-peers.conf" }

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "bgpmesh-peers-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func writer(stateDirectory: String? = nil) -> BGPPeersWriter {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return BGPPeersWriter(settings: .init(path: path, registryPrefix: "/bgpmesh/test/", stateDirectory: stateDirectory ?? directory + "/state"),
                              bird: BIRDClient(socketPath: directory + "/no-bird.ctl", restricted: false, timeout: .seconds(1)), logger: logger)
    }

    private func round(_ writer: BGPPeersWriter, _ indices: [Int] = [1, 2, 3]) async {
        writer.offer(.init(me: "node1", records: BGPPeersTestRecords.records(indices)))
        await writer.round()
    }

    private func contents() -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    func testOperatorsFileIsAConflictNeverOverwritten() async throws {
        let mine = "protocol bgp peer2 from bgpmesh { neighbor 198.51.100.2 as 65000; }\n"
        try mine.write(toFile: path, atomically: false, encoding: .utf8)
        let writer = writer()
        await round(writer)
        XCTAssertEqual(contents(), mine)
        XCTAssertTrue(writer.state.conflict?.contains("has no bgpmesh-agent header") ?? false, "\(String(describing: writer.state.conflict))")
        XCTAssertTrue(writer.metrics.values.withLock { $0.conflict })
        XCTAssertEqual(writer.metrics.values.withLock { $0.applies.values.reduce(0, +) }, 0, "nothing is applied")
        // The operator removes it: the agent writes its own.
        try FileManager.default.removeItem(atPath: path)
        await writer.round()
        XCTAssertNil(writer.state.conflict)
        XCTAssertTrue(contents()?.hasPrefix(BGPPeersFile.marker) ?? false)
    }

    func testMarkerWithoutTheLedgerIsAConflictUnlessTheBytesMatch() async throws {
        let first = writer()
        await round(first)
        let written = try XCTUnwrap(contents())
        // Another state directory: no ledger entry. The same bytes are adopted...
        let other = writer(stateDirectory: directory + "/other-state")
        await round(other)
        XCTAssertNil(other.state.conflict)
        XCTAssertEqual(contents(), written)
        // ...other bytes with a marker copied by hand are not the agent's.
        let copied = written.replacingOccurrences(of: "198.51.100.3", with: "198.51.100.99")
        try copied.write(toFile: path, atomically: false, encoding: .utf8)
        let third = writer(stateDirectory: directory + "/third-state")
        await round(third)
        XCTAssertEqual(contents(), copied)
        XCTAssertTrue(third.state.conflict?.contains("does not record it") ?? false, "\(String(describing: third.state.conflict))")
    }

    func testOwnFileEditedBehindTheAgentsBackIsPutRight() async throws {
        let writer = writer()
        await round(writer)
        let written = try XCTUnwrap(contents())
        try (written + "protocol bgp extra from bgpmesh { neighbor 198.51.100.9 as 65000; }\n").write(toFile: path, atomically: false, encoding: .utf8)
        await writer.round()
        XCTAssertEqual(contents(), written)
    }

    func testEmptyPlaceholderIsTaken() async throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        let writer = writer()
        await round(writer)
        XCTAssertNil(writer.state.conflict)
        XCTAssertTrue(contents()?.contains("protocol bgp bgpmesh_node3 from bgpmesh {") ?? false)
        XCTAssertTrue(writer.state.pending, "BIRD is not running: written, not applied")
    }

    func testUnusableLedgerOwnsNothing() async throws {
        let first = writer()
        await round(first)
        try "not json".write(toFile: directory + "/state/" + BGPPeersLedger.fileName, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(directory + "/state/" + BGPPeersLedger.fileName, 0o600), 0)
        let second = writer()
        await round(second, [1, 2])
        XCTAssertTrue(second.state.conflict?.contains("the ledger is unusable") ?? false, "\(String(describing: second.state.conflict))")
        XCTAssertTrue(contents()?.contains("bgpmesh_node3") ?? false, "the file is left as it was")
    }

    func testNoOfferNoFile() async {
        let writer = writer()
        await writer.round()
        XCTAssertNil(contents())
        XCTAssertNil(writer.state.plan)
    }
}
