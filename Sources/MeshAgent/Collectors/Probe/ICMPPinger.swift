import Glibc
import POSIXSupport

/// Sends one round of probes to many targets at once and waits for the answers,
/// on the calling thread (the sampler runs it on its own queue). Sockets are
/// opened once and kept; a round never waits past its timeout.
final class ICMPPinger: @unchecked Sendable { // used from one serial queue only
    private(set) var method: ProbeMethod?
    private var sockets: [Int32: Int32] = [:] // family -> fd
    private let identifier = UInt16(truncatingIfNeeded: getpid())
    private var sequence: UInt16 = UInt16.random(in: 0...UInt16.max)
    /// Why ICMP could not be used, for the one log line at start.
    private(set) var fallbackReason: String?

    deinit {
        for fd in sockets.values { close(fd) }
    }

    /// Probes every target once; targets that do not answer within `timeout` are lost.
    func round(_ targets: [ProbeTarget], timeout: Duration) -> [ProbeTarget: ProbeOutcome] {
        var outcomes: [ProbeTarget: ProbeOutcome] = [:]
        let resolved = targets.compactMap { t in ProbeAddress(t.address).map { (t, $0) } }
        for t in targets where ProbeAddress(t.address) == nil { outcomes[t] = .lost }
        guard !resolved.isEmpty else { return outcomes }
        if method == nil { method = chooseMethod(for: resolved.map(\.1.family)) }
        let results = method == .tcp179 ? tcpRound(resolved, timeout: timeout) : icmpRound(resolved, timeout: timeout)
        outcomes.merge(results) { a, _ in a }
        return outcomes
    }

    // MARK: method

    private func chooseMethod(for families: [Int32]) -> ProbeMethod {
        var reasons: [String] = []
        for (method, type) in [(ProbeMethod.icmpRaw, Int32(SOCK_RAW.rawValue)), (.icmpDatagram, Int32(SOCK_DGRAM.rawValue))] {
            var opened: [Int32: Int32] = [:]
            for family in Set(families) {
                let proto = family == AF_INET ? Int32(IPPROTO_ICMP) : Int32(IPPROTO_ICMPV6)
                let fd = socket(family, type | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), proto)
                if fd < 0 {
                    reasons.append("\(method.rawValue): \(Syscall.errorText(errno, call: "socket"))")
                    break
                }
                opened[family] = fd
            }
            if opened.count == Set(families).count {
                sockets = opened
                return method
            }
            for fd in opened.values { close(fd) }
        }
        fallbackReason = reasons.joined(separator: "; ")
        return .tcp179
    }

    // MARK: ICMP echo

    private func icmpRound(_ targets: [(ProbeTarget, ProbeAddress)], timeout: Duration) -> [ProbeTarget: ProbeOutcome] {
        var pending: [UInt16: (target: ProbeTarget, address: [UInt8], sent: UInt64)] = [:]
        var outcomes: [ProbeTarget: ProbeOutcome] = [:]
        for (target, address) in targets {
            guard let fd = sockets[address.family] else { outcomes[target] = .lost; continue }
            sequence &+= 1
            var packet = [UInt8](repeating: 0, count: 24)
            packet[0] = address.family == AF_INET ? 8 : 128 // echo request
            packet[4] = UInt8(identifier >> 8); packet[5] = UInt8(identifier & 0xff)
            packet[6] = UInt8(sequence >> 8); packet[7] = UInt8(sequence & 0xff)
            if address.family == AF_INET {
                // ICMPv6 checksums are the kernel's job; ICMPv4 ones are ours (RFC 792).
                let sum = Self.checksum(packet)
                packet[2] = UInt8(sum >> 8); packet[3] = UInt8(sum & 0xff)
            }
            let sent = Self.now()
            let n = packet.withUnsafeBytes { bytes in
                address.withSockaddr { sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, $1) }
            }
            if n < 0 { outcomes[target] = .lost; continue }
            pending[sequence] = (target, address.addressBytes, sent)
        }
        let deadline = Self.now() + UInt64(timeout.components.seconds) * 1_000_000_000
            + UInt64(timeout.components.attoseconds / 1_000_000_000)
        var buffer = [UInt8](repeating: 0, count: 1500)
        var fds = sockets.values.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while !pending.isEmpty {
            let now = Self.now()
            guard now < deadline else { break }
            let wait = Int32(min((deadline - now) / 1_000_000 + 1, 10_000))
            let ready = poll(&fds, nfds_t(fds.count), wait)
            if ready < 0 { if errno == EINTR { continue } else { break } }
            if ready == 0 { continue }
            for i in fds.indices where fds[i].revents & Int16(POLLIN) != 0 {
                let fd = fds[i].fd
                let family = sockets.first { $0.value == fd }?.key ?? AF_INET
                while true {
                    var from = sockaddr_storage()
                    var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                    let n = buffer.withUnsafeMutableBytes { raw in
                        withUnsafeMutablePointer(to: &from) {
                            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                                recvfrom(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, &fromLength)
                            }
                        }
                    }
                    if n <= 0 { break }
                    guard let (sequence, source) = parseReply(Array(buffer[0..<n]), family: family, from: from),
                          let entry = pending[sequence], entry.address == source else { continue }
                    outcomes[entry.target] = .reply(rtt: Double(Self.now() - entry.sent) / 1e9)
                    pending[sequence] = nil
                }
            }
        }
        for entry in pending.values { outcomes[entry.target] = .lost }
        return outcomes
    }

    /// The sequence number and source address of an echo reply meant for us, else nil.
    private func parseReply(_ packet: [UInt8], family: Int32, from: sockaddr_storage) -> (UInt16, [UInt8])? {
        var icmp = packet[...]
        if family == AF_INET && method == .icmpRaw {
            // Raw IPv4 sockets deliver the IP header too.
            guard let first = packet.first else { return nil }
            let headerLength = Int(first & 0x0f) * 4
            guard packet.count >= headerLength + 8 else { return nil }
            icmp = packet[headerLength...]
        }
        guard icmp.count >= 8 else { return nil }
        let base = icmp.startIndex
        let replyType: UInt8 = family == AF_INET ? 0 : 129
        guard icmp[base] == replyType else { return nil }
        // Datagram ping sockets rewrite the identifier to their own; raw ones see every reply.
        if method == .icmpRaw {
            let id = UInt16(icmp[base + 4]) << 8 | UInt16(icmp[base + 5])
            guard id == identifier else { return nil }
        }
        let sequence = UInt16(icmp[base + 6]) << 8 | UInt16(icmp[base + 7])
        var storage = from
        let source: [UInt8] = withUnsafeBytes(of: &storage) { raw in
            family == AF_INET ? Array(raw[4..<8]) : Array(raw[8..<24])
        }
        return (sequence, source)
    }

    // MARK: TCP fallback

    /// A connect to port 179 that succeeds or is refused means the host answered.
    private func tcpRound(_ targets: [(ProbeTarget, ProbeAddress)], timeout: Duration) -> [ProbeTarget: ProbeOutcome] {
        var outcomes: [ProbeTarget: ProbeOutcome] = [:]
        var inFlight: [(target: ProbeTarget, fd: Int32, sent: UInt64)] = []
        for (target, address) in targets {
            guard let withPort = ProbeAddress(target.address, port: 179) else { outcomes[target] = .lost; continue }
            let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { outcomes[target] = .lost; continue }
            let sent = Self.now()
            let rc = withPort.withSockaddr { connect(fd, $0, $1) }
            if rc == 0 || errno == ECONNREFUSED {
                outcomes[target] = .reply(rtt: Double(Self.now() - sent) / 1e9)
                close(fd)
            } else if errno == EINPROGRESS {
                inFlight.append((target, fd, sent))
            } else {
                outcomes[target] = .lost
                close(fd)
            }
        }
        let deadline = Self.now() + UInt64(max(0, timeout.seconds) * 1e9)
        while !inFlight.isEmpty {
            let now = Self.now()
            guard now < deadline else { break }
            var fds = inFlight.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), Int32((deadline - now) / 1_000_000 + 1))
            if ready < 0 { if errno == EINTR { continue } else { break } }
            var still: [(target: ProbeTarget, fd: Int32, sent: UInt64)] = []
            for (i, entry) in inFlight.enumerated() {
                if fds[i].revents == 0 { still.append(entry); continue }
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(entry.fd, SOL_SOCKET, SO_ERROR, &error, &length)
                outcomes[entry.target] = (error == 0 || error == ECONNREFUSED) ? .reply(rtt: Double(Self.now() - entry.sent) / 1e9) : .lost
                close(entry.fd)
            }
            inFlight = still
        }
        for entry in inFlight {
            outcomes[entry.target] = .lost
            close(entry.fd)
        }
        return outcomes
    }

    // MARK: helpers

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
