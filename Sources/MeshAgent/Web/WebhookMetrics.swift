import Exposition
import Synchronization

/// Counts the alerts the webhook received, by their status and what the agent did with each.
public final class WebhookMetrics: Sendable {
    /// What the webhook did with one alert; a fixed set, so the label set stays bounded.
    public enum Action: String, Sendable, CaseIterable, Codable {
        /// Firing, for this node, submitted and queued by the repair loop.
        case queued
        /// Seen before (same fingerprint and startsAt): an HA peer's copy or a re-send.
        case duplicate
        /// Its `node` label names another node.
        case otherNode = "other_node"
        /// Resolved: pending work for it was cancelled.
        case cancelled
        /// Firing, for this node, but the repair loop declined it (mode off, cooldown, ...),
        /// or this node's name is unknown.
        case skipped
        /// No `node` or `alertname` label, an empty fingerprint or startsAt, or a target
        /// label that is no tinc or BIRD name.
        case invalid
    }

    private struct Key: Hashable { var status: AlertmanagerPayload.Status; var action: Action }
    private let counts: Mutex<[Key: UInt64]>

    /// Each (status, action) pair that can happen starts at 0, so `rate()` and `increase()`
    /// see the first alert.
    public init() {
        var initial: [Key: UInt64] = [:]
        for action in Action.allCases where action != .cancelled { initial[Key(status: .firing, action: action)] = 0 }
        for action in [Action.cancelled, .duplicate, .otherNode, .invalid] { initial[Key(status: .resolved, action: action)] = 0 }
        counts = Mutex(initial)
    }

    public func record(status: AlertmanagerPayload.Status, action: Action) {
        counts.withLock { $0[Key(status: status, action: action), default: 0] += 1 }
    }

    public func count(status: AlertmanagerPayload.Status, action: Action) -> UInt64 {
        counts.withLock { $0[Key(status: status, action: action)] ?? 0 }
    }

    /// The families to append to every scrape.
    public var families: [MetricFamily] {
        let snapshot = counts.withLock { $0 }
        return [.counter("bgpmesh_webhook_alerts_total",
                         help: "Alerts received on /api/v1/alerts, by alert status and what the agent did with them.",
                         snapshot.map { Metric([Label("status", $0.key.status.rawValue), Label("action", $0.key.action.rawValue)],
                                               Double($0.value)) })]
    }
}
