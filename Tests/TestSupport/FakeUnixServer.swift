import Foundation
import Glibc
import POSIXSupport

/// A Unix-socket server on a thread that answers every connection the same way:
/// it sends `greeting`, then for every line it reads sends `reply` (or nothing).
/// For tests of clients against daemons that hang or talk garbage.
public final class FakeUnixServer: @unchecked Sendable {
    public let path: String
    private let listener: Int32
    private let greeting: [UInt8]
    private let reply: [UInt8]?
    private let lock = NSLock()
    private var clients: [Int32] = []
    private var stopped = false

    /// `reply == nil`: read and never answer.
    public init(greeting: String, reply: String?) throws {
        path = "/tmp/bgpmesh-fake-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        self.greeting = Array(greeting.utf8)
        self.reply = reply.map { Array($0.utf8) }
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let bound = try UnixSocketAddress(path: path).withSockaddr { bind(listener, $0, $1) }
        guard bound == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw NSError(domain: "FakeUnixServer", code: Int(errno))
        }
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            lock.lock()
            if stopped { lock.unlock(); close(client); return }
            clients.append(client)
            lock.unlock()
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    private func serve(_ client: Int32) {
        _ = greeting.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            if let reply, buffer[0..<n].contains(UInt8(ascii: "\n")) {
                _ = reply.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }
    }

    public func stop() {
        lock.lock()
        stopped = true
        let open = clients
        clients = []
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for c in open { shutdown(c, Int32(SHUT_RDWR)); close(c) }
        unlink(path)
    }
}
