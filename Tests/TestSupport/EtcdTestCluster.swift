import EtcdClient
import Foundation
import Glibc
import Synchronization
import XCTest

/// Real etcd 3.4 members on loopback for the integration tests: client ports from 23791 up,
/// peer ports 100 above (never 2379/2380), a temporary data directory, and a log per member.
/// The test's tearDown calls `stop()`, which kills every member by pid with bounded waits.
public final class EtcdTestCluster {
    public static let etcdPath = "/usr/bin/etcd"
    public static let etcdctlPath = "/usr/bin/etcdctl"

    public struct Member {
        public var name: String
        public var clientPort: Int
        public var peerPort: Int
        public var process: Process?
        public var dataDir: String
    }

    public let directory: String
    public let scheme: String
    public var extraArguments: [String]
    public private(set) var members: [Member] = []
    private let token = "bgpmesh-test-\(getpid())-\(Int.random(in: 0..<1_000_000))"

    /// Skips the test (loudly) when etcd is not installed.
    public static func requireEtcd() throws {
        guard FileManager.default.isExecutableFile(atPath: etcdPath) else {
            throw XCTSkip("SKIPPED: \(etcdPath) is missing (Debian: apt-get install etcd-server etcd-client); etcd integration tests did not run")
        }
    }

    public init(members count: Int, scheme: String = "http", extraArguments: [String] = []) throws {
        try Self.requireEtcd()
        self.scheme = scheme
        self.extraArguments = extraArguments
        directory = NSTemporaryDirectory() + "bgpmesh-etcd-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for index in 0..<count {
            let (client, peer) = try PortAllocator.next()
            members.append(Member(name: "m\(index)", clientPort: client, peerPort: peer, process: nil, dataDir: "\(directory)/m\(index).etcd"))
        }
    }

    public var endpoints: [String] { members.map { "\(scheme)://127.0.0.1:\($0.clientPort)" } }

    public func endpoint(_ index: Int) -> String { endpoints[index] }

    /// Starts every member (a new cluster, or the existing data directories again).
    public func start() throws {
        for index in members.indices { try start(index) }
    }

    public func start(_ index: Int) throws {
        let member = members[index]
        let cluster = members.map { "\($0.name)=http://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        var arguments = [
            "--name", member.name, "--data-dir", member.dataDir,
            "--listen-client-urls", "\(scheme)://127.0.0.1:\(member.clientPort)",
            "--advertise-client-urls", "\(scheme)://127.0.0.1:\(member.clientPort)",
            "--listen-peer-urls", "http://127.0.0.1:\(member.peerPort)",
            "--initial-advertise-peer-urls", "http://127.0.0.1:\(member.peerPort)",
            "--initial-cluster", cluster, "--initial-cluster-token", token, "--initial-cluster-state", "new",
            "--heartbeat-interval", "50", "--election-timeout", "500",
        ]
        arguments += extraArguments
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.etcdPath)
        process.arguments = arguments
        let logPath = "\(directory)/\(member.name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        members[index].process = process
    }

    /// SIGKILL, as a crash: no goodbye to the peers.
    public func kill(_ index: Int) {
        guard let process = members[index].process else { return }
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        Self.waitForExit(process, seconds: 5)
        members[index].process = nil
    }

    /// SIGTERM with a bounded wait, then SIGKILL.
    public func terminate(_ index: Int) {
        guard let process = members[index].process else { return }
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGTERM) }
        if !Self.waitForExit(process, seconds: 5) {
            Glibc.kill(process.processIdentifier, SIGKILL)
            Self.waitForExit(process, seconds: 5)
        }
        members[index].process = nil
    }

    /// Stops every member and removes the data; for tearDown.
    public func stop() {
        for index in members.indices { terminate(index) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    public static func waitForExit(_ process: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return !process.isRunning
    }

    /// Waits (bounded) until each running member answers /health with true.
    public func waitHealthy(_ indices: [Int]? = nil, tls: EtcdClient.TLS? = nil, seconds: Double = 20) async throws {
        let client = try EtcdClient(configuration: .init(endpoints: endpoints, tls: tls, connectTimeout: .milliseconds(300), requestTimeout: .seconds(1)))
        defer { client.shutdown() }
        let deadline = Date().addingTimeInterval(seconds)
        for index in indices ?? Array(members.indices) {
            while true {
                if let health = try? await client.health(endpoint: endpoint(index)), health.healthy { break }
                guard Date() < deadline else {
                    throw ToolFailure(description: "etcd member \(index) not healthy after \(seconds) s; log:\n\(logTail(index))")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    public func logTail(_ index: Int, lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: "\(directory)/\(members[index].name).log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Runs etcdctl against member 0 (bounded: 10 s) and returns its output.
    @discardableResult
    public func etcdctl(_ arguments: [String], extra: [String] = []) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: Self.etcdctlPath) else {
            throw XCTSkip("SKIPPED: \(Self.etcdctlPath) is missing; needed to set up etcd auth")
        }
        return try runTool(Self.etcdctlPath, ["--endpoints=\(endpoint(0))", "--dial-timeout=3s", "--command-timeout=5s"] + extra + arguments)
    }
}

public struct ToolFailure: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Runs a tool with a 10-second bound and returns stdout+stderr; throws on a non-zero exit.
@discardableResult
public func runTool(_ path: String, _ arguments: [String], directory: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    if !EtcdTestCluster.waitForExit(process, seconds: 10) {
        Glibc.kill(process.processIdentifier, SIGKILL)
        EtcdTestCluster.waitForExit(process, seconds: 2)
        throw ToolFailure(description: "\(path) \(arguments.joined(separator: " ")) did not finish in 10 s")
    }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw ToolFailure(description: "\(path) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(output)")
    }
    return output
}

/// Hands out free loopback port pairs: client 23791..23890, peer = client + 100.
public enum PortAllocator {
    private static let nextPort = Mutex(23791)

    public static func next() throws -> (client: Int, peer: Int) {
        for _ in 0..<100 {
            let port = nextPort.withLock { value -> Int in
                let port = value
                value = value >= 23890 ? 23791 : value + 1
                return port
            }
            if isFree(port) && isFree(port + 100) { return (port, port + 100) }
        }
        throw ToolFailure(description: "no free port pair in 23791...23890")
    }

    public static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
