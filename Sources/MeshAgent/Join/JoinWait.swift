#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// `join --wait`: polls the local agent's `/api/v1/status` until every BGP session its plan
/// expects is Established, with one progress line per change.
public enum JoinWait {
    /// The part of the status document the wait reads.
    public struct Progress: Sendable, Equatable, Decodable {
        public struct BGP: Sendable, Equatable, Decodable {
            public struct Expected: Sendable, Equatable, Decodable {
                public var peer: String
                public var state: String
            }

            public var expected_sessions: [Expected]?
            public var established: Int
        }

        public var node: String?
        public var registry_synced: Bool?
        public var bgp: BGP

        public var expected: Int { bgp.expected_sessions?.count ?? 0 }
        /// Done once the registry synced, and the plan has sessions, all Established.
        public var done: Bool {
            registry_synced != false && expected > 0
                && (bgp.expected_sessions ?? []).allSatisfy { $0.state == "Established" }
        }

        public var line: String {
            var text = "\(bgp.established)/\(expected) BGP sessions Established"
            if registry_synced == false { text += ", registry not synced yet" }
            let waiting = (bgp.expected_sessions ?? []).filter { $0.state != "Established" }.map { "\($0.peer) \($0.state)" }
            if !waiting.isEmpty { text += " (waiting: \(waiting.prefix(4).joined(separator: ", "))\(waiting.count > 4 ? ", ..." : ""))" }
            return text
        }

        public static func parse(_ body: String) -> Progress? {
            try? JSONDecoder().decode(Progress.self, from: Data(body.utf8))
        }
    }

    /// The status URL for `web.listen-address` (`:port` and `0.0.0.0` mean this host: 127.0.0.1).
    public static func statusURL(listen: String) -> String {
        var host = "127.0.0.1", port = listen
        if let colon = listen.lastIndex(of: ":") {
            let h = String(listen[..<colon])
            port = String(listen[listen.index(after: colon)...])
            if !h.isEmpty && h != "0.0.0.0" && h != "[::]" { host = h }
        }
        return "http://\(host):\(port)/api/v1/status"
    }

    /// Polls until done or `timeout`; `progress` gets each new line. Waiting for the agent to come
    /// up (connection refused) is part of the wait.
    public static func wait(url: String, timeout: Duration, interval: Duration = .milliseconds(500),
                            progress: (String) -> Void) throws(JoinError) {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var last = ""
        while true {
            let line: String
            switch Result(catching: { () throws(LocalAPIClient.Failure) in try LocalAPIClient.send("GET", url: url, token: nil, timeout: .seconds(3)) }) {
            case .success(let response) where response.status == 200:
                guard let p = Progress.parse(response.body) else { line = "the agent's status is not what join expects"; break }
                if p.done { progress(p.line); return }
                line = p.line
            case .success(let response):
                line = "the agent answers HTTP \(response.status)"
            case .failure(let error):
                line = "waiting for the agent at \(url) (\(error))"
            }
            if line != last { progress(line); last = line }
            guard clock.now < deadline else { throw .waitTimedOut(seconds: Int(timeout.components.seconds), last: last) }
            let pause = interval.components
            usleep(UInt32(pause.seconds * 1_000_000 + pause.attoseconds / 1_000_000_000_000))
        }
    }
}
