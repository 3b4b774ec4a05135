import Foundation
import Glibc
import POSIXSupport

/// A Unix-socket server on a temporary path that plays BIRD for the client tests: a thread
/// accepts one connection at a time and hands it to `handler` with its sequence number.
final class FakeBIRDServer: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let lock = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private let handler: @Sendable (FakeConnection, Int) -> Void

    private nonisolated(unsafe) static var counter = 0
    private static let counterLock = NSLock()

    init(_ handler: @escaping @Sendable (FakeConnection, Int) -> Void) throws {
        let serial = Self.counterLock.withLock { Self.counter += 1; return Self.counter }
        path = "/tmp/birdctl-test-\(getpid())-\(serial).ctl"
        unlink(path)
        self.handler = handler
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.EIO) }
        let bound = try UnixSocketAddress(path: path).withSockaddr { bind(listener, $0, $1) }
        guard bound == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        let thread = Thread { [self] in run() }
        thread.start()
    }

    private var acceptedCount = 0
    private var closedCount = 0

    var isStopping: Bool { lock.withLock { stopping } }
    /// Connections accepted, and those whose handler returned and whose socket is closed.
    var accepted: Int { lock.withLock { acceptedCount } }
    var closed: Int { lock.withLock { closedCount } }

    /// Stops accepting, waits for the current handler to return, removes the socket.
    func stop() {
        lock.withLock { stopping = true }
        finished.wait()
        close(listener)
        unlink(path)
    }

    private func run() {
        var sequence = 0
        while !isStopping {
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 20) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let connection = FakeConnection(fd: fd, server: self)
            lock.withLock { acceptedCount += 1 }
            handler(connection, sequence)
            connection.close()
            lock.withLock { closedCount += 1 }
            sequence += 1
        }
        finished.signal()
    }
}

/// The server side of one connection.
final class FakeConnection: @unchecked Sendable {
    private(set) var fd: Int32
    private unowned let server: FakeBIRDServer
    private var buffer: [UInt8] = []

    init(fd: Int32, server: FakeBIRDServer) {
        self.fd = fd
        self.server = server
    }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// One line without the newline, or nil on EOF or when the server stops.
    func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            guard waitReadable() else { return nil }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    /// Blocks until the peer closes (or the server stops), discarding input.
    func waitForClose() {
        while readLine() != nil {}
    }

    /// Sends the banner and, if the client asks, grants `restrict`.
    func greet(restrict: Bool = true) -> Bool {
        send("0001 BIRD 2.0.12 ready.\n")
        guard restrict else { return true }
        guard readLine() == "restrict" else { return false }
        send("0016 Access restricted\n")
        return true
    }

    func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    private func waitReadable() -> Bool {
        while !server.isStopping {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, 20) > 0 { return true }
        }
        return false
    }
}

/// Open descriptors of this process.
func openFileDescriptorCount() -> Int {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
}
