import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The lab's stand-in for the humans an Alertmanager pages, and a tap on what it sends the agents:
/// a small HTTP server that takes Alertmanager webhook (v4) POSTs and appends each, with the time it
/// arrived and its path, as one JSON line to a file (`bgpmesh-lab sink`, started by `up` in bml-mon).
///
/// Paths: `/receiver/<name>` for a receiver the lab rewrote to the sink (a human one), `/agent/<node>`
/// for the copy of what Alertmanager sends node's agent; GET `/healthz` answers 200.
public enum AlertSink {
    /// The largest body it accepts; Alertmanager's groups here are a few kB (max_alerts 50).
    static let maxBody = 4 << 20

    /// Serves until killed. Throws only on setup errors.
    public static func run(host: String, port: UInt16, output: String) throws(LabError) {
        signal(SIGPIPE, SIG_IGN)
        let out = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard out >= 0 else { throw .io(path: output, reason: "open: \(String(cString: strerror(errno)))") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .io(path: "socket", reason: String(cString: strerror(errno))) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var a = PortForwarder.makeAddress(host, port)
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0, listen(fd, 64) == 0 else {
            throw .io(path: "\(host):\(port)", reason: "bind: \(String(cString: strerror(errno)))")
        }
        FileHandle.standardError.write(Data("sink: listening on \(host):\(port), writing \(output)\n".utf8))
        while true {
            // accept4 is not exported by the Glibc module; the sink forks nothing, so the gap before
            // FD_CLOEXEC is harmless.
            let c = accept(fd, nil, nil)
            if c >= 0 { _ = fcntl(c, F_SETFD, FD_CLOEXEC) }
            if c < 0 {
                // EINTR, ECONNABORTED, EMFILE and the like: keep the listener, back off a little.
                if errno != EINTR { usleep(50_000) }
                continue
            }
            serve(c, out: out)
            close(c)
        }
    }

    /// One request per connection (the answer says `Connection: close`); every read has a 5 s timeout.
    static func serve(_ c: Int32, out: Int32) {
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        var headerEnd: Int?
        while headerEnd == nil {
            guard buf.count < 65536 else { return answer(c, 431, "headers too large") }
            let n = recv(c, &chunk, chunk.count, 0)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            buf += chunk[0..<n]
            headerEnd = find(buf, [13, 10, 13, 10])
        }
        let head = String(decoding: buf[0..<headerEnd!], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return answer(c, 400, "bad request line") }
        let method = String(parts[0]), path = String(parts[1])
        var length = 0
        for l in lines.dropFirst() {
            let kv = l.split(separator: ":", maxSplits: 1)
            guard kv.count == 2 else { continue }
            let key = kv[0].trimmingCharacters(in: .whitespaces).lowercased()
            let value = kv[1].trimmingCharacters(in: .whitespaces)
            if key == "content-length" { length = Int(value) ?? -1 }
            if key == "transfer-encoding" && value.lowercased() != "identity" { return answer(c, 411, "chunked bodies are not taken; send Content-Length") }
        }
        if method == "GET" && path == "/healthz" { return answer(c, 200, "ok") }
        guard method == "POST" else { return answer(c, 405, "POST webhook payloads to /receiver/<name> or /agent/<node>") }
        guard path.hasPrefix("/receiver/") || path.hasPrefix("/agent/") else { return answer(c, 404, "unknown path \(path)") }
        guard length >= 0, length <= maxBody else { return answer(c, 413, "Content-Length \(length) is not between 0 and \(maxBody)") }
        var body = Array(buf[(headerEnd! + 4)...])
        while body.count < length {
            let n = recv(c, &chunk, min(chunk.count, length - body.count), 0)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            body += chunk[0..<n]
        }
        let payload = Data(body.prefix(length))
        guard let obj = try? JSONSerialization.jsonObject(with: payload), obj is [String: Any] else {
            return answer(c, 400, "the body is no JSON object")
        }
        let record: [String: Any] = ["received_at": Date().timeIntervalSince1970, "path": path, "payload": obj]
        guard var line = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) else {
            return answer(c, 500, "cannot encode the record")
        }
        line.append(10)
        // One writer, one write(2) per line with O_APPEND: a reader sees whole lines or a partial last one.
        let ok = line.withUnsafeBytes { p -> Bool in
            var off = 0
            while off < p.count {
                let n = write(out, p.baseAddress! + off, p.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                off += n
            }
            return true
        }
        answer(c, ok ? 200 : 500, ok ? "" : "cannot record: \(String(cString: strerror(errno)))")
    }

    static func find(_ hay: [UInt8], _ needle: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
        return nil
    }

    static func answer(_ c: Int32, _ code: Int, _ text: String) {
        let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
                      413: "Payload Too Large", 431: "Request Header Fields Too Large", 500: "Internal Server Error"][code] ?? "Error"
        let body = text.isEmpty ? "" : text + "\n"
        let msg = "HTTP/1.1 \(code) \(reason)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = msg.withCString { send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }
}

/// One webhook POST the sink recorded.
public struct SinkDelivery: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        /// A receiver the lab points at the sink: a human one.
        case receiver(String)
        /// The copy of a delivery to this node's agent.
        case agent(String)
    }
    public struct Alert: Sendable, Equatable {
        public var name: String
        public var status: String
        public var labels: [String: String]
        public var startsAt: Date?
    }
    public var receivedAt: Date
    public var target: Target
    /// The group's status: `firing` while any of its alerts fires, else `resolved`.
    public var status: String
    public var alerts: [Alert]

    public var firingNames: [String] { Array(Set(alerts.filter { $0.status == "firing" }.map(\.name))).sorted() }

    /// The sink's file, line by line; a line that does not parse (the last one, being written) is skipped.
    public static func read(_ path: String) -> [SinkDelivery] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { parse(String($0)) }
    }

    /// One line of the sink's file.
    public static func parse(_ line: String) -> SinkDelivery? {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let at = obj["received_at"] as? Double, let path = obj["path"] as? String,
              let payload = obj["payload"] as? [String: Any] else { return nil }
        let target: Target
        if path.hasPrefix("/receiver/") {
            let raw = String(path.dropFirst("/receiver/".count))
            target = .receiver(raw.removingPercentEncoding ?? raw)
        }
        else if path.hasPrefix("/agent/") { target = .agent(String(path.dropFirst("/agent/".count))) }
        else { return nil }
        let alerts = (payload["alerts"] as? [[String: Any]] ?? []).map { a -> Alert in
            let labels = a["labels"] as? [String: String] ?? [:]
            return Alert(name: labels["alertname"] ?? "?", status: a["status"] as? String ?? "?", labels: labels,
                         startsAt: (a["startsAt"] as? String).flatMap(parseTime))
        }
        return SinkDelivery(receivedAt: Date(timeIntervalSince1970: at), target: target,
                            status: payload["status"] as? String ?? "?", alerts: alerts)
    }

    /// RFC 3339 as Go writes it (`2026-12-06T13:02:03.123456789Z`, or with an offset `+01:00`).
    public static func parseTime(_ s: String) -> Date? {
        let u = Array(s.utf8)
        guard u.count >= 20 else { return nil }
        func num(_ r: Range<Int>) -> Int? { Int(String(decoding: u[r], as: UTF8.self)) }
        guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13), let mi = num(14..<16),
              let sec = num(17..<19) else { return nil }
        var i = 19
        var frac = 0.0
        if i < u.count && u[i] == UInt8(ascii: ".") {
            var scale = 0.1
            i += 1
            while i < u.count, u[i] >= 48, u[i] <= 57 { frac += Double(u[i] - 48) * scale; scale /= 10; i += 1 }
        }
        var offset = 0
        guard i < u.count else { return nil }
        if u[i] == UInt8(ascii: "Z") { offset = 0 } else if u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-"), u.count >= i + 6,
                  let oh = num(i + 1..<i + 3), let om = num(i + 4..<i + 6) {
            offset = (oh * 3600 + om * 60) * (u[i] == UInt8(ascii: "-") ? -1 : 1)
        } else { return nil }
        var c = DateComponents()
        c.year = y; c.month = mo; c.day = d; c.hour = h; c.minute = mi; c.second = sec
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        guard let base = cal.date(from: c) else { return nil }
        return base.addingTimeInterval(frac - Double(offset))
    }
}
