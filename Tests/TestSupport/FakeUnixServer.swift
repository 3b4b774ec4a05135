import Foundation
import Glibc
import POSIXSupport

/// A Unix-socket server on a thread that answers every connection the same way:
/// it sends `greeting`, then for every line it reads sends `reply` (or nothing), or
/// with `replies`, the answer to that line (a captured transcript replayed per command).
/// For tests of clients against daemons that hang, talk garbage, or replay captured output.
public final class FakeUnixServer: @unchecked Sendable {
    public let path: String
    private let listener: Int32
    private let greeting: [UInt8]
    private let answer: @Sendable (String) -> [UInt8]?
    private let lock = NSLock()
    private var clients: [Int32] = []
    private var stopped = false

    /// `reply == nil`: read and never answer.
    public convenience init(greeting: String, reply: String?) throws {
        let bytes = reply.map { Array($0.utf8) }
        try self.init(greeting: Array(greeting.utf8), replies: { _ in bytes })
    }

    /// `replies(line)` is the answer to one line (without its newline); nil answers nothing.
    public init(greeting: [UInt8], replies: @escaping @Sendable (String) -> [UInt8]?) throws {
        path = "/tmp/bgpmesh-fake-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        self.greeting = greeting
        self.answer = replies
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
        var pending: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            pending += buffer[0..<n]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if let reply = answer(line) {
                    _ = reply.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
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
