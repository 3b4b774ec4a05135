import Foundation
import Glibc
import HTTPServer
import Logging
import Synchronization
import TestSupport
import XCTest

/// One response as read off the wire by `TestClient`.
struct TestResponse {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    func headerCount(_ name: String) -> Int {
        headers.filter { $0.name.lowercased() == name.lowercased() }.count
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

struct TestClientError: Error, CustomStringConvertible {
    var description: String
}

/// A tiny blocking HTTP/1.1 client on a raw socket, for driving the server byte by byte.
final class TestClient {
    let fd: Int32
    private var buffer: [UInt8] = []

    private var storage = sockaddr_storage()
    private var length = socklen_t(0)

    convenience init(port: UInt16, host: String = "127.0.0.1", timeout: Double = 5) throws {
        try self.init(unconnectedTo: port, host: host, timeout: timeout)
        try connect()
    }

    /// A socket that connects only when `connect()` is called.
    init(unconnectedTo port: UInt16, host: String = "127.0.0.1", timeout: Double = 5) throws {
        var storage = sockaddr_storage()
        var length: socklen_t
        var address4 = in_addr()
        var address6 = in6_addr()
        if inet_pton(AF_INET, host, &address4) == 1 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr = address4
            withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: sin) { target.copyMemory(from: $0) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else if inet_pton(AF_INET6, host, &address6) == 1 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_addr = address6
            withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: sin6) { target.copyMemory(from: $0) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            throw TestClientError(description: "bad host \(host)")
        }
        fd = socket(Int32(storage.ss_family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestClientError(description: "socket: errno \(errno)") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        self.storage = storage
        self.length = length
    }

    func connect() throws {
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        guard result == 0 else { throw TestClientError(description: "connect: errno \(errno)") }
    }

    deinit {
        Glibc.close(fd)
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw TestClientError(description: "send: errno \(errno)") }
            offset += written
        }
    }

    /// Shuts down the sending side (the server sees EOF).
    func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Reads one response; `head` means no body follows (response to HEAD).
    func readResponse(head: Bool = false) throws -> TestResponse {
        var headerEnd: Int?
        while true {
            if let end = findHeaderEnd() {
                headerEnd = end
                break
            }
            guard try fill() else { throw TestClientError(description: "connection closed before a response head (\(buffer.count) bytes)") }
        }
        let headText = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        buffer.removeFirst(headerEnd! + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0] == "HTTP/1.1", let status = Int(statusLine[1]) else {
            throw TestClientError(description: "bad status line in \(headText)")
        }
        let headers = lines.map { line -> (name: String, value: String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = TestResponse(status: status, headers: headers, body: [])
        if head || status == 204 || status == 304 || status < 200 { return response }
        if let length = response.header("Content-Length").flatMap(Int.init) {
            while buffer.count < length {
                guard try fill() else { throw TestClientError(description: "connection closed mid-body") }
            }
            response.body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        } else {
            while try fill() {}
            response.body = buffer
            buffer = []
        }
        return response
    }

    /// Reads until EOF (or reset); returns what arrived. Throws on timeout.
    func readUntilClose() throws -> [UInt8] {
        while try fill() {}
        defer { buffer = [] }
        return buffer
    }

    /// True when the server has sent something (or closed) that is not read yet; never waits.
    /// "Not yet answered" is how tests say "before", instead of a wall-clock bound.
    var hasUnreadInput: Bool {
        guard buffer.isEmpty else { return true }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0
    }

    /// True when the server closes the connection (EOF or reset) without sending anything more.
    func isClosedByServer() -> Bool {
        guard let rest = try? readUntilClose() else { return false }
        return rest.isEmpty
    }

    private func findHeaderEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }

    /// false on EOF or connection reset.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        if count == 0 || errno == ECONNRESET { return false }
        throw TestClientError(description: errno == EAGAIN ? "timed out reading" : "recv: errno \(errno)")
    }
}

/// Helpers shared by the socket tests.
enum TestServer {
    static let logger: Logger = {
        var logger = Logger(label: "HTTPServerTests")
        logger.logLevel = .warning
        return logger
    }()

    static func start(
        _ configure: (inout HTTPServerConfiguration) -> Void = { _ in },
        logger: Logger = TestServer.logger,
        observer: (@Sendable (HTTPExchange) -> Void)? = nil,
        handler: @escaping HTTPHandler
    ) throws -> (HTTPServer, UInt16) {
        var configuration = HTTPServerConfiguration(listenAddresses: ["127.0.0.1:0"])
        configuration.readTimeout = .seconds(5)
        configuration.idleTimeout = .seconds(30)
        configure(&configuration)
        let server = HTTPServer(configuration: configuration, logger: logger, observer: observer, handler: handler)
        try server.start()
        return (server, port(of: server.boundAddresses[0]))
    }

    static func port(of address: String) -> UInt16 {
        UInt16(address[address.index(after: address.lastIndex(of: ":")!)...])!
    }

    /// Runs `operation` in a task and waits for it on this (non-cooperative) thread.
    @discardableResult
    static func blocking(timeout: Double = 10, _ operation: @escaping @Sendable () async -> Void) -> Bool {
        let done = DispatchSemaphore(value: 0)
        Task {
            await operation()
            done.signal()
        }
        return done.wait(timeout: .now() + timeout) == .success
    }

    static func stop(_ server: HTTPServer, grace: Duration = .seconds(2)) {
        blocking { await server.shutdown(gracePeriod: grace) }
    }

    static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// `TestSupport.waitUntil` for up to `timeout` seconds: fails the test naming `what` on timeout.
    static func eventually(_ what: String = "the condition holds", timeout: Double = 3,
                           file: StaticString = #filePath, line: UInt = #line, _ condition: () -> Bool) -> Bool {
        waitUntil(what, timeout: .milliseconds(Int64(timeout * 1000)), file: file, line: line, condition)
    }

    /// `/slow` requests that have reached the handler, so a test can wait until one is in flight.
    static let slowStarted = Atomic<Int>(0)
    /// `/slow` handlers that have returned.
    static let slowFinished = Atomic<Int>(0)

    /// A handler used by most tests: echoes, sleeps, sizes and statuses chosen by path.
    static let handler: HTTPHandler = { request in
        switch request.path {
        case "/hello":
            return .text(200, "hello world")
        case "/echo":
            var response = HTTPResponse(status: 200, body: request.body)
            response.headers.add("X-Method", request.method)
            response.headers.add("X-Version", request.version)
            response.headers.add("X-Remote", request.remoteAddress)
            if let query = request.query { response.headers.add("X-Query", query) }
            return response
        case "/slow":
            let milliseconds = Int(request.query ?? "") ?? 500
            slowStarted.add(1, ordering: .sequentiallyConsistent)
            // The stimulus: a handler that takes this long.
            try? await Task.sleep(for: .milliseconds(milliseconds))
            slowFinished.add(1, ordering: .sequentiallyConsistent)
            return .text(200, "slow \(milliseconds)")
        case "/big":
            let size = Int(request.query ?? "") ?? (16 << 20)
            return HTTPResponse(status: 200, body: [UInt8](repeating: 0x61, count: size))
        case "/nocontent":
            return HTTPResponse(status: 204, body: Array("ignored".utf8))
        default:
            return .text(404, "not found")
        }
    }
}

/// A thread-safe list, for observers and background threads in tests.
final class Recorder<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])
    func append(_ item: Element) { items.withLock { $0.append(item) } }
    var all: [Element] { items.withLock { $0 } }
}
