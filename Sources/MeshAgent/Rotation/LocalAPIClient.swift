import Glibc
import POSIXSupport

/// A small blocking HTTP/1.1 client for the agent's own API (`bgpmesh-agent rotate-key`):
/// `http://HOST:PORT/PATH` only, one request per connection, every step bounded by `timeout`.
public enum LocalAPIClient {
    public struct Response: Sendable {
        public var status: Int
        public var body: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends one request and reads the whole response (the server closes after it).
    public static func send(_ method: String, url: String, token: String?, body: [UInt8] = [],
                            timeout: Duration = .seconds(10)) throws(Failure) -> Response {
        guard url.hasPrefix("http://") else { throw Failure(description: "\(url): only http://HOST:PORT/PATH URLs are supported") }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = authority, port = "80"
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = String(after.dropFirst()) }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = String(authority[authority.index(after: colon)...])
        }
        guard !host.isEmpty, Int(port).map({ (1...65535).contains($0) }) == true else {
            throw Failure(description: "\(url): expected http://HOST:PORT/PATH")
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, port, &hints, &list)
        guard resolved == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: Syscall.errorText(errno, call: "socket")) }
        let handle = FileDescriptor(fd)
        defer { handle.close() }
        let (seconds, attoseconds) = timeout.components
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard Syscall.retryingEINTR({ connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) }) == 0 else {
            throw Failure(description: "cannot connect to \(authority): \(Syscall.errorText(errno, call: "connect"))")
        }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
        if !body.isEmpty { head += "Content-Type: application/json\r\n" }
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        do {
            try Syscall.writeAll(fd, Array((head + "\r\n").utf8) + body)
        } catch {
            throw Failure(description: "cannot send to \(authority): \(error)")
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while reply.count < 1 << 20 {
            let count = Syscall.retryingEINTR { read(fd, &buffer, buffer.count) }
            if count == 0 { break }
            guard count > 0 else { throw Failure(description: "no answer from \(authority): \(Syscall.errorText(errno, call: "read"))") }
            reply += buffer.prefix(count)
        }
        let text = String(decoding: reply, as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n", maxSplits: 1).first,
              let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw Failure(description: "\(authority) did not answer HTTP")
        }
        let separator = Array("\r\n\r\n".utf8)
        let split = reply.indices.first { reply[$0...].starts(with: separator) }
        let bodyText = split.map { String(decoding: reply[($0 + separator.count)...], as: UTF8.self) } ?? ""
        return Response(status: code, body: bodyText)
    }
}
