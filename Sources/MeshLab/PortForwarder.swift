import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Forwards host loopback ports into a lab namespace.
///
/// The host's own network may use 192.0.2.0/24 (it does on the lab machine: eth0 is 192.0.2.2,
/// gateway 192.0.2.1), so the lab never routes the underlay into the root namespace. Instead this
/// binds 127.0.0.1 ports in the root namespace, then moves its thread into the lab namespace
/// with setns(2); sockets keep the namespace they were created in. Single-threaded poll(2) loop.
public enum PortForwarder {
    public struct Rule: Sendable {
        public var listenPort: UInt16
        public var targetHost: String
        public var targetPort: UInt16

        /// Parses `127.0.0.1:19090=192.0.2.250:19090`.
        public init?(_ s: String) {
            let sides = s.split(separator: "=")
            guard sides.count == 2 else { return nil }
            let l = sides[0].split(separator: ":"), t = sides[1].split(separator: ":")
            guard l.count == 2, l[0] == "127.0.0.1", t.count == 2,
                  let lp = UInt16(l[1]), let tp = UInt16(t[1]) else { return nil }
            listenPort = lp; targetHost = String(t[0]); targetPort = tp
        }
    }

    final class Pair {
        var client: Int32
        var upstream: Int32
        var connecting = true
        var toUp: [UInt8] = []
        var toClient: [UInt8] = []
        var clientEOF = false
        var upEOF = false
        var lastActive = Date()
        init(client: Int32, upstream: Int32) { self.client = client; self.upstream = upstream }
    }

    static func makeAddress(_ host: String, _ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &a.sin_addr)
        return a
    }

    /// Runs until the namespace disappears. Throws only on setup errors.
    public static func run(rules: [Rule], netns: String) throws(LabError) {
        signal(SIGPIPE, SIG_IGN)
        var listeners: [(Int32, Rule)] = []
        for r in rules {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { throw .io(path: "socket", reason: String(cString: strerror(errno))) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var a = makeAddress("127.0.0.1", r.listenPort)
            let rc = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0, listen(fd, 64) == 0 else {
                throw .io(path: "127.0.0.1:\(r.listenPort)", reason: "bind: \(String(cString: strerror(errno)))")
            }
            listeners.append((fd, r))
        }
        let nsPath = "/run/netns/\(netns)"
        let nsfd = open(nsPath, O_RDONLY | O_CLOEXEC)
        guard nsfd >= 0 else { throw .io(path: nsPath, reason: String(cString: strerror(errno))) }
        // setns(2) is not exported by the Glibc module without _GNU_SOURCE.
        typealias SetnsFn = @convention(c) (Int32, Int32) -> Int32
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else {
            throw .io(path: "setns", reason: "symbol not found")
        }
        let setnsFn = unsafeBitCast(sym, to: SetnsFn.self)
        guard setnsFn(nsfd, 0x4000_0000 /* CLONE_NEWNET */) == 0 else {
            throw .io(path: nsPath, reason: "setns: \(String(cString: strerror(errno)))")
        }
        close(nsfd)
        FileHandle.standardError.write(Data("forwarding \(rules.count) ports into \(netns)\n".utf8))

        var pairs: [Pair] = []
        var lastCheck = Date()
        while true {
            if Date().timeIntervalSince(lastCheck) > 1 {
                lastCheck = Date()
                if !FileManager.default.fileExists(atPath: nsPath) { return }
                for p in pairs where Date().timeIntervalSince(p.lastActive) > 600 { closePair(p) }
                pairs.removeAll { $0.client < 0 }
            }
            var fds: [pollfd] = listeners.map { pollfd(fd: $0.0, events: Int16(POLLIN), revents: 0) }
            for p in pairs {
                var ce: Int16 = 0, ue: Int16 = 0
                if p.connecting { ue |= Int16(POLLOUT) } else {
                    if p.toUp.isEmpty && !p.clientEOF { ce |= Int16(POLLIN) }
                    if !p.toUp.isEmpty { ue |= Int16(POLLOUT) }
                    if p.toClient.isEmpty && !p.upEOF { ue |= Int16(POLLIN) }
                    if !p.toClient.isEmpty { ce |= Int16(POLLOUT) }
                }
                fds.append(pollfd(fd: p.client, events: ce, revents: 0))
                fds.append(pollfd(fd: p.upstream, events: ue, revents: 0))
            }
            let n = poll(&fds, nfds_t(fds.count), 1000)
            if n < 0 && errno != EINTR { return }
            if n <= 0 { continue }
            let polled = pairs
            for (i, (lfd, rule)) in listeners.enumerated() where fds[i].revents & Int16(POLLIN) != 0 {
                let c = accept(lfd, nil, nil)
                guard c >= 0 else { continue }
                _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
                _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                let u = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                guard u >= 0 else { close(c); continue }
                var a = makeAddress(rule.targetHost, rule.targetPort)
                let rc = withUnsafePointer(to: &a) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(u, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                if rc != 0 && errno != EINPROGRESS { close(c); close(u); continue }
                pairs.append(Pair(client: c, upstream: u))
            }
            var idx = listeners.count
            for p in polled {
                let cr = fds[idx].revents, ur = fds[idx + 1].revents
                idx += 2
                if p.client < 0 { continue }
                if cr != 0 || ur != 0 { p.lastActive = Date() }
                if p.connecting {
                    guard ur != 0 else { continue }
                    var err: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(p.upstream, SOL_SOCKET, SO_ERROR, &err, &len)
                    if err != 0 { closePair(p); continue }
                    p.connecting = false
                    continue
                }
                if cr & Int16(POLLIN | POLLHUP | POLLERR) != 0 && p.toUp.isEmpty && !p.clientEOF {
                    if !readInto(&p.toUp, p.client) { p.clientEOF = true; shutdown(p.upstream, Int32(SHUT_WR)) }
                }
                if ur & Int16(POLLIN | POLLHUP | POLLERR) != 0 && p.toClient.isEmpty && !p.upEOF {
                    if !readInto(&p.toClient, p.upstream) { p.upEOF = true }
                }
                if ur & Int16(POLLOUT) != 0 && !p.toUp.isEmpty && !writeFrom(&p.toUp, p.upstream) { closePair(p); continue }
                if cr & Int16(POLLOUT) != 0 && !p.toClient.isEmpty && !writeFrom(&p.toClient, p.client) { closePair(p); continue }
                if p.upEOF && p.toClient.isEmpty { closePair(p) }
            }
            pairs.removeAll { $0.client < 0 }
        }
    }

    /// false on EOF or error.
    static func readInto(_ buf: inout [UInt8], _ fd: Int32) -> Bool {
        var tmp = [UInt8](repeating: 0, count: 65536)
        let n = tmp.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { buf.append(contentsOf: tmp[0..<n]); return true }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return true }
        return false
    }

    static func writeFrom(_ buf: inout [UInt8], _ fd: Int32) -> Bool {
        let n = buf.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n > 0 { buf.removeFirst(n); return true }
        return n < 0 && (errno == EAGAIN || errno == EINTR)
    }

    static func closePair(_ p: Pair) {
        if p.client >= 0 { close(p.client) }
        if p.upstream >= 0 { close(p.upstream) }
        p.client = -1
        p.upstream = -1
    }
}
