import Foundation
import Glibc
import POSIXSupport

/// A fake tinc 1.1 control socket that replays a transcript: for each `C:` line it reads one
/// line from the client and checks it, then sends the `S:` lines that follow. Serves one
/// connection per transcript, on its own thread; `X: close` closes the connection early;
/// `mismatches` records what went wrong.
final class FakeTincControlSocket: @unchecked Sendable {
    let socketPath: String
    let pidfilePath: String
    let cookie = String(repeating: "0123456789abcdef", count: 4)
    private let listener: Int32
    private let lock = NSLock()
    private var mismatchesValue: [String] = []
    private var connectionsValue = 0

    var mismatches: [String] { lock.withLock { mismatchesValue } }
    var connections: Int { lock.withLock { connectionsValue } }

    /// `stallAfterGreeting`: answer the handshake, then never reply (for the timeout test).
    init(directory: String, transcripts: [String], pid: Int32 = getpid(), stallAfterGreeting: Bool = false) throws {
        socketPath = directory + "/tinc.bgpmesh.socket"
        pidfilePath = directory + "/tinc.bgpmesh.pid"
        try "\(pid) \(cookie) 127.0.0.1 port 655\n".write(toFile: pidfilePath, atomically: true, encoding: .utf8)
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.listener = listener
        let bound = try UnixSocketAddress(path: socketPath).withSockaddr { bind(listener, $0, $1) }
        guard bound == 0, listen(listener, 4) == 0 else { throw NSError(domain: "fake", code: Int(errno)) }
        let scripts = try transcripts.map { try Fixture.text($0) }
        let cookie = self.cookie
        Thread.detachNewThread { [self] in
            for script in scripts {
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { return }
                lock.withLock { connectionsValue += 1 }
                serve(fd, script: script.replacingOccurrences(of: "{cookie}", with: cookie), stall: stallAfterGreeting)
                close(fd)
            }
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        unlink(socketPath)
    }

    private func serve(_ fd: Int32, script: String, stall: Bool) {
        var buffer: [UInt8] = []
        var greeted = false
        for line in script.split(separator: "\n") where !line.hasPrefix("#") {
            if line.hasPrefix("C: ") {
                if stall && greeted { usleep(1_500_000); return }
                guard let got = readLine(fd, &buffer) else { record("client closed before \(line)"); return }
                if got != String(line.dropFirst(3)) { record("expected \(line.dropFirst(3)), got \(got)") }
            } else if line == "X: close" {
                return
            } else if line.hasPrefix("S: ") {
                greeted = true
                let bytes = Array((line.dropFirst(3) + "\n").utf8)
                // Split each line in two writes: the client must not depend on read boundaries.
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, 3, Int32(MSG_NOSIGNAL)) }
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + 3, $0.count - 3, Int32(MSG_NOSIGNAL)) }
            }
        }
        // Wait for the client to close (it may send nothing more).
        var byte: UInt8 = 0
        _ = recv(fd, &byte, 1, 0)
    }

    private func readLine(_ fd: Int32, _ buffer: inout [UInt8]) -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { return nil }
            buffer += chunk[0..<n]
        }
    }

    private func record(_ text: String) { lock.withLock { mismatchesValue.append(text) } }
}
