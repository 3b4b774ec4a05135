import Foundation
import Glibc
import Logging
import TincControl
import TestSupport
import XCTest

/// The 1.0 client against two real tincd 1.0 daemons on loopback (DeviceType = dummy, so no
/// tun device and no namespace): dumps, pacing, HUP and ALRM on a live daemon.
final class RealTincTests: XCTestCase {
    private static let tincd = "/usr/sbin/tincd"
    private var directory = ""
    private var pids: [pid_t] = []

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.tincd) else {
            throw XCTSkip("SKIPPED LOUDLY: \(Self.tincd) is missing; install the tinc package to run the real-tincd tests")
        }
        directory = try Fixture.temporaryDirectory("real")
    }

    override func tearDown() {
        for pid in pids {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            for _ in 0..<100 where waitpid(pid, &status, WNOHANG) == 0 { usleep(20_000) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL); waitpid(pid, &status, 0) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a program with stdin from /dev/null and default signal handling; returns its pid.
    private func spawn(_ arguments: [String], wait: Bool) throws -> pid_t {
        try Spawn.run(arguments, output: directory + "/spawn.out", wait: wait)
    }

    /// Writes two nets t1 and t2 on loopback (t1 connects to t2), each with a key pair, and starts
    /// both daemons. t1's key is `t1Key` when given (written by the agent's own code), otherwise
    /// `tincd -K1024`'s. Returns t2's port.
    private func startTwoDaemons(t1Key: TincRSAPrivateKey? = nil) throws -> Int {
        let port1 = Int.random(in: 30000...40000)
        let port2 = port1 + 1
        let nets = [("t1", port1, "198.51.100.201"), ("t2", port2, "198.51.100.202")]
        for (name, port, subnet) in nets {
            let net = directory + "/" + name
            try FileManager.default.createDirectory(atPath: net + "/hosts", withIntermediateDirectories: true)
            try """
            Name = \(name)
            DeviceType = dummy
            AddressFamily = ipv4
            BindToAddress = 127.0.0.1
            Port = \(port)
            \(name == "t1" ? "ConnectTo = t2" : "")

            """.write(toFile: net + "/tinc.conf", atomically: true, encoding: .utf8)
            let host = "Address = 127.0.0.1\nPort = \(port)\nSubnet = \(subnet)/32\n"
            if name == "t1", let t1Key {
                try t1Key.write(toFile: net + "/rsa_key.priv")
                try (host + "\n" + t1Key.publicKey.pem).write(toFile: net + "/hosts/" + name, atomically: true, encoding: .utf8)
            } else {
                try host.write(toFile: net + "/hosts/" + name, atomically: true, encoding: .utf8)
                _ = try spawn([Self.tincd, "-n", name, "-c", net, "-K1024"], wait: true)
            }
        }
        for (name, _, _) in nets {
            let other = name == "t1" ? "t2" : "t1"
            try FileManager.default.copyItem(atPath: "\(directory)/\(other)/hosts/\(other)", toPath: "\(directory)/\(name)/hosts/\(other)")
        }
        for (name, _, _) in nets {
            let net = directory + "/" + name
            pids.append(try spawn([Self.tincd, "-n", name, "-c", net, "-D", "--logfile=\(net)/tinc.log", "--pidfile=\(net)/tinc.pid"], wait: false))
        }
        return port2
    }

    /// Waits until t1 has an active connection to t2 (both sides authenticated with their keys).
    private func waitForActiveConnection(_ client: TincDaemonClient) async throws -> TincSnapshot? {
        for _ in 0..<20 {
            if let current = try? await client.snapshot(), current.dump.node("t2")?.isReachable == true,
               current.dump.connections.contains(where: { $0.name == "t2" && $0.status.contains(.active) }) {
                return current
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        return nil
    }

    private func client(_ net: String) -> TincDaemonClient {
        let configuration = TincDaemonClient.Configuration(
            net: net, directory: directory + "/" + net, pidfile: directory + "/\(net)/tinc.pid", minimumDumpInterval: .zero,
            signalSpacing: .milliseconds(500))
        return TincDaemonClient(configuration: configuration, logger: Logger(label: "test"))
    }

    /// A key made by `TincRSAPrivateKey.generate` and written by `write(toFile:)`: tincd 1.0.36
    /// reads it at start, and its peer authenticates it with the public key in the host file.
    func testGeneratedKeyIsReadByRealTincd() async throws {
        let key = try TincRSAPrivateKey.generate(bits: 1024)
        _ = try startTwoDaemons(t1Key: key)
        let snapshot = try await waitForActiveConnection(client("t1"))
        let log1 = (try? String(contentsOfFile: directory + "/t1/tinc.log", encoding: .utf8)) ?? ""
        let log2 = (try? String(contentsOfFile: directory + "/t2/tinc.log", encoding: .utf8)) ?? ""
        XCTAssertNotNil(snapshot, "t1 (generated key) never got an active connection to t2; t1 log:\n\(log1.suffix(2000))\nt2 log:\n\(log2.suffix(2000))")
        XCTAssertTrue(log1.contains("Ready"), log1)
    }

    func testTwoRealDaemonsOnLoopback() async throws {
        let port2 = try startTwoDaemons()
        let client = client("t1")
        let snapshot = try await waitForActiveConnection(client)
        let log = (try? String(contentsOfFile: directory + "/t1/tinc.log", encoding: .utf8)) ?? ""
        let dump = try XCTUnwrap(snapshot?.dump, "t1 never saw t2 reachable; log:\n\(log.suffix(3000))")
        XCTAssertEqual(dump.pid, pids[0])
        XCTAssertTrue(dump.node("t1")?.isMyself ?? false)
        XCTAssertEqual(dump.node("t2")?.address, TincSocketAddress(host: "127.0.0.1", port: "\(port2)"))
        XCTAssertEqual(Set(dump.edges.map { "\($0.from)>\($0.to)" }), ["t1>t2", "t2>t1"])
        XCTAssertEqual(Set(dump.subnets.map(\.description)), ["198.51.100.201/32", "198.51.100.202/32"])
        XCTAssertNotNil(dump.device)
        XCTAssertEqual(dump.unrecognizedLineCount, 0, "\(dump.unrecognizedLines)")

        let info = try client.daemonInfo()
        XCTAssertEqual(info.logDestination, .file(directory + "/t1/tinc.log"))
        try await client.reload()
        try await client.retry()
        // tincd is still answering after HUP and ALRM: it did not deadlock.
        let after = try await client.snapshot()
        XCTAssertFalse(after.fromCache)
        XCTAssertEqual(after.dump.nodes.count, 2)
        let config = try TincConfigDirectory(path: directory + "/t1").serverConfig()
        XCTAssertEqual(config.connectTo, ["t2"])
        let host = try TincConfigDirectory(path: directory + "/t1").hostFile(TincNodeName("t2")!)
        XCTAssertEqual(host.publicKey?.modulusBits, 1024)
    }
}
