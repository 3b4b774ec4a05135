import POSIXSupport
import Glibc

/// One blocking connection to the control socket: banner read, `restrict` sent if asked,
/// then one command at a time. Not thread-safe; `BIRDClient` confines it to its queue.
final class BIRDSession {
    let socket: FileDescriptor
    /// `BIRD 2.0.12 ready.`
    private(set) var banner = ""
    private var framer: BIRDReplyFramer
    private var receiveBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    private init(socket: FileDescriptor, limit: Int) {
        self.socket = socket
        self.framer = BIRDReplyFramer(limit: limit)
    }

    /// Connects, reads the `0001` banner and, for a restricted session, sends `restrict` and
    /// expects `0016 Access restricted`. On any error the socket is closed before throwing.
    static func open(path: String, restricted: Bool, limit: Int, command: String,
                     deadline: Deadline, timeout: Duration) throws(BIRDControlError) -> BIRDSession {
        let address: UnixSocketAddress
        do { address = try UnixSocketAddress(path: path) } catch { throw .invalidPath(error) }

        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw .connect(path: path, call: "socket", errno: errno) }
        let session = BIRDSession(socket: FileDescriptor(descriptor), limit: limit)
        do throws(BIRDControlError) {
            try session.connect(address: address, path: path, command: command, deadline: deadline, timeout: timeout)
            let banner = try session.readReply(label: command, deadline: deadline, timeout: timeout)
            guard banner.code == 1 else {
                throw .unexpectedReply(command: "<banner>", code: banner.code, text: banner.finalText)
            }
            session.banner = banner.finalText
            if restricted {
                try session.send("restrict", label: command, deadline: deadline, timeout: timeout)
                let reply = try session.readReply(label: command, deadline: deadline, timeout: timeout)
                guard reply.code == 16 else {
                    throw .unexpectedReply(command: "restrict", code: reply.code, text: reply.finalText)
                }
            }
            return session
        } catch {
            session.close()
            throw error
        }
    }

    func close() {
        socket.close()
        framer.reset()
    }

    /// Sends one command and reads its reply. 8xxx/9xxx replies are returned, not thrown.
    func execute(_ command: String, deadline: Deadline, timeout: Duration) throws(BIRDControlError) -> BIRDReply {
        // Bytes left over from an earlier reply would desynchronise request and reply.
        guard framer.bufferedByteCount == 0 else {
            throw .malformed(command: command, line: "unsolicited bytes before the command")
        }
        try send(command, label: command, deadline: deadline, timeout: timeout)
        return try readReply(label: command, deadline: deadline, timeout: timeout)
    }

    // MARK: Socket calls

    private func connect(address: UnixSocketAddress, path: String, command: String, deadline: Deadline, timeout: Duration) throws(BIRDControlError) {
        let fd = socket.rawValue
        while true {
            let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
            if result == 0 { return }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EISCONN:
                return
            case EAGAIN:
                // A Unix socket whose listen backlog is full: BIRD is busy. Retry until the deadline.
                let wait = min(deadline.remainingMilliseconds, 5)
                if wait == 0 { throw .timeout(command: command, after: timeout) }
                _ = poll(nil, 0, wait)
            case EINPROGRESS:
                try waitFor(Int16(POLLOUT), label: command, deadline: deadline, timeout: timeout)
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else {
                    throw .connect(path: path, call: "getsockopt", errno: errno)
                }
                if error != 0 { throw .connect(path: path, call: "connect", errno: error) }
                return
            default:
                throw .connect(path: path, call: "connect", errno: code)
            }
        }
    }

    private func send(_ command: String, label: String, deadline: Deadline, timeout: Duration) throws(BIRDControlError) {
        let bytes = Array((command + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let fd = socket.rawValue
            let sent = bytes.withUnsafeBytes { raw in
                Syscall.retryingEINTR { Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            if sent >= 0 {
                offset += sent
                continue
            }
            let code = errno
            guard code == EAGAIN || code == EWOULDBLOCK else { throw .io(command: label, call: "send", errno: code) }
            try waitFor(Int16(POLLOUT), label: label, deadline: deadline, timeout: timeout)
        }
    }

    private func readReply(label: String, deadline: Deadline, timeout: Duration) throws(BIRDControlError) -> BIRDReply {
        while true {
            do throws(BIRDFramingError) {
                if let reply = try framer.nextReply() { return reply }
            } catch {
                switch error {
                case .malformedLine(let line): throw .malformed(command: label, line: line)
                case .tooLarge(let limit): throw .tooLarge(command: label, limit: limit)
                case .incomplete, .trailingBytes: throw .malformed(command: label, line: error.description)
                }
            }
            try waitFor(Int16(POLLIN), label: label, deadline: deadline, timeout: timeout)
            let fd = socket.rawValue
            let received = receiveBuffer.withUnsafeMutableBytes { raw in
                Syscall.retryingEINTR { recv(fd, raw.baseAddress, raw.count, 0) }
            }
            if received > 0 {
                receiveBuffer.withUnsafeBytes { raw in framer.append(UnsafeRawBufferPointer(rebasing: raw[..<received])) }
            } else if received == 0 {
                throw .closed(command: label, receivedBytes: framer.bufferedByteCount)
            } else {
                let code = errno
                if code == EAGAIN || code == EWOULDBLOCK { continue }
                throw .io(command: label, call: "recv", errno: code)
            }
        }
    }

    /// poll(2) for `events` with the time left; throws `.timeout` when the deadline passes.
    private func waitFor(_ events: Int16, label: String, deadline: Deadline, timeout: Duration) throws(BIRDControlError) {
        while true {
            let remaining = deadline.remainingMilliseconds
            if remaining == 0 { throw .timeout(command: label, after: timeout) }
            var entry = pollfd(fd: socket.rawValue, events: events, revents: 0)
            let ready = poll(&entry, 1, remaining)
            if ready > 0 { return }  // readable, writable, or HUP/ERR: the next call reports it
            if ready == 0 { continue }  // re-check the clock; poll may round the timeout down
            let code = errno
            if code == EINTR { continue }
            throw .io(command: label, call: "poll", errno: code)
        }
    }
}
