/// What the webhook does with one alert before the dedup memory and the repair loop see it.
/// Pure, so the mapping from untrusted alert labels to a repair is fuzzed on its own
/// (Fuzz/AlertmanagerPayload).
public enum AlertTriage: Sendable, Equatable {
    /// Not usable: no fingerprint, no node label, a target that is not a name, ...
    case invalid(String)
    /// The alert is about another node.
    case otherNode
    /// Firing, but this node's name is not known yet.
    case skipped(String)
    /// Resolved: cancel the pending work queued for this alert key.
    case cancel(alertKey: String)
    /// Firing for this node: the request to submit.
    case repair(RepairRequest)

    /// The longest fingerprint and startsAt taken. Alertmanager 0.25 sends 16 hex digits and an
    /// RFC 3339 time; the pair is the dedup key AlertKeyMemory keeps for an hour (up to 4096 of
    /// them), so without a bound one sender could pin up to a megabyte (the body limit) per key.
    public static let maxKeyPartBytes = 64

    /// A tinc node name (`[A-Za-z0-9_]+`, tinc 1.0 `check_id`) or a BIRD protocol name, at most
    /// 64 bytes; no path or shell can come through it into a host file path or a birdc command.
    public static func isValidTarget(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
    }
}

extension AlertmanagerPayload.Alert {
    /// Decides this alert for the node named `me` (nil while tinc.conf's Name is unknown).
    public func triage(me: String?) -> AlertTriage {
        guard !fingerprint.isEmpty, !startsAt.isEmpty else { return .invalid("no fingerprint or startsAt") }
        guard fingerprint.utf8.count <= AlertTriage.maxKeyPartBytes, startsAt.utf8.count <= AlertTriage.maxKeyPartBytes else {
            return .invalid("fingerprint or startsAt longer than \(AlertTriage.maxKeyPartBytes) bytes")
        }
        guard let node = labels["node"], !node.isEmpty else { return .invalid("no node label") }
        if let me, node != me { return .otherNode }
        // Cancelling what was never queued is harmless, so an unknown own name does not stop it.
        if status == .resolved { return .cancel(alertKey: key) }
        guard me != nil else { return .skipped("this node's name is not known yet (tinc.conf Name)") }
        guard let alertname = labels["alertname"], !alertname.isEmpty else { return .invalid("no alertname label") }
        // A BGP alert names its BIRD protocol (`name`, or `session`) and, since the exporter adds it,
        // the peer too: the protocol is the precise target (the health problem it matches is named
        // after it). Mesh alerts carry only `peer`.
        let target = labels["session"] ?? labels["name"] ?? labels["peer"]
        if let target, !AlertTriage.isValidTarget(target) {
            return .invalid("target \"\(target)\" is not a tinc node or BIRD protocol name")
        }
        return .repair(RepairRequest(trigger: .webhook, kind: alertname, target: target, alertKey: key, labels: labels))
    }
}
