import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A node agent's key rotation as its `GET /api/v1/status` reports it (the `key_rotation` object:
/// `id` and `phase` of the running one, `idle` with no id when none runs, and `last_id`,
/// `last_result` (success, rolled_back, failed), `last_error` of the last one that ended).
public struct RotationStatus: Sendable, Equatable {
    public var id: String?
    /// idle, generated, published, installing, restarted, rolling_back.
    public var phase: String
    public var started: String?
    public var peersAcked: Int?
    public var peersExpected: Int?
    public var lastID: String?
    public var lastResult: String?
    public var lastError: String?

    /// The `key_rotation` object of a status reply; nil without one.
    public static func parse(statusJSON text: String) -> RotationStatus? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let r = json["key_rotation"] as? [String: Any] else { return nil }
        func string(_ key: String) -> String? {
            if let s = r[key] as? String { return s }
            if let n = r[key] as? NSNumber { return n.stringValue }
            return nil
        }
        return RotationStatus(id: string("id"), phase: string("phase") ?? "unknown", started: string("started"),
                              peersAcked: (r["peers_acked"] as? NSNumber)?.intValue,
                              peersExpected: (r["peers_expected"] as? NSNumber)?.intValue,
                              lastID: string("last_id"), lastResult: string("last_result"), lastError: string("last_error"))
    }

    /// Rotation `wanted` has ended: nil while it runs (or before the agent reports it), else
    /// true for success. Without `wanted`, the last rotation that ended.
    public func finished(id wanted: String?) -> Bool? {
        if let wanted, id == wanted, phase != "idle" { return nil }
        guard id == nil || phase == "idle", let lastID, wanted == nil || lastID == wanted else { return nil }
        return lastResult == "success"
    }

    /// One progress line: `node2: published, 3/7 peers acked (rotation r-7)`.
    public func line(node: String) -> String {
        var s = "\(node): \(phase)"
        if let a = peersAcked, let e = peersExpected { s += ", \(a)/\(e) peers acked" }
        if let id { s += " (rotation \(id))" }
        if id == nil, let lastID { s += "; last rotation \(lastID): \(lastResult ?? "?")" }
        if let lastError, !lastError.isEmpty, id == nil { s += ", error: \(lastError)" }
        return s
    }
}

extension Lab {
    /// The bearer token the lab's Alertmanager and `rotate-key` use with the agents.
    func webhookToken() throws(LabError) -> String {
        let token = try read(monitoring.webhookTokenFile).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw .io(path: monitoring.webhookTokenFile, reason: "the token file is empty") }
        return token
    }

    /// `POST /api/v1/keys/rotate` on node `n`'s agent (from the monitoring namespace, with the
    /// lab's webhook token); returns the rotation id of the 202 reply.
    public func rotateKey(_ n: NodeSpec, state: LabState) throws(LabError) -> String {
        guard state.agentBinary != nil else { throw .invalidArgument("the lab runs without agents") }
        // The token goes in a header file (mode 600), not on curl's command line.
        try mkdir(monitoring.runDir)
        let headers = "\(monitoring.runDir)/rotate-key.headers"
        try write(headers, "Authorization: Bearer \(try webhookToken())\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: headers) }
        let url = "http://\(n.agentListen)/api/v1/keys/rotate"
        let r = try Netns.exec(LabNames.monitoringNamespace,
                               ["curl", "-sS", "--max-time", "10", "-X", "POST", "-H", "@\(headers)",
                                "-w", "\n%{http_code}", url], timeout: 20)
        guard r.succeeded else { throw .commandFailed(command: "curl -X POST \(url)", status: r.status, stderr: r.stderr) }
        var lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let code = Int(lines.popLast() ?? "") ?? 0
        let body = lines.joined(separator: "\n")
        guard code == 202 else {
            throw .commandFailed(command: "POST \(url)", status: Int32(code),
                                 stderr: "HTTP \(code)" + (body.isEmpty ? "" : ": \(body.prefix(300))"))
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        if let id = json?["id"] as? String ?? (json?["id"] as? NSNumber)?.stringValue
            ?? json?["rotation_id"] as? String { return id }
        throw .commandFailed(command: "POST \(url)", status: 202, stderr: "no rotation id in the reply: \(body.prefix(300))")
    }

    /// Node `n`'s rotation status, or nil when its agent does not answer or reports none.
    public func rotationStatus(_ n: NodeSpec) -> RotationStatus? {
        guard let text = try? httpGet(from: LabNames.monitoringNamespace, "http://\(n.agentListen)/api/v1/status") else { return nil }
        return RotationStatus.parse(statusJSON: text)
    }

    /// Polls node `n`'s status until rotation `id` ends or `timeout` passes; calls `progress`
    /// whenever the status line changes. Returns the last status; throws on timeout.
    public func waitRotation(_ n: NodeSpec, id: String, timeout: Double,
                             progress: (RotationStatus) -> Void) throws(LabError) -> RotationStatus {
        let deadline = Date().addingTimeInterval(timeout)
        var last: String?
        var status: RotationStatus?
        while Date() < deadline {
            if let s = rotationStatus(n) {
                status = s
                let line = s.line(node: n.name)
                if line != last { progress(s); last = line }
                if s.finished(id: id) != nil { return s }
            }
            usleep(250_000)
        }
        throw .notReady(what: "key rotation \(id) on \(n.name)", seconds: timeout,
                        missing: [status.map { $0.line(node: n.name) } ?? "\(n.name)'s agent reports no key_rotation"])
    }
}
