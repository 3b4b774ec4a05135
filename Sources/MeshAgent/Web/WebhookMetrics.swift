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
        /// The request had no or a wrong bearer token: its body is not read, so it counts once
        /// per request, with `status="unknown"`.
        case unauthorized
    }

    /// The `status` of a request refused before its alerts were read.
    public static let unknownStatus = "unknown"

    private struct Key: Hashable { var status: String; var action: Action }
    private let counts = Mutex<[Key: UInt64]>([:])

    /// The (status, action) pairs that can happen, each a series from the start, so `rate()` and
    /// `increase()` see the first alert.
    static let labels = CounterLabels([("status", ["firing", "resolved", unknownStatus]), ("action", Action.allCases.map(\.rawValue))]) {
        switch ($0[0], Action(rawValue: $0[1])) {
        case (unknownStatus, .unauthorized?): true
        case (unknownStatus, _), (_, .unauthorized?): false
        case ("firing", .cancelled?): false
        case ("resolved", .queued?), ("resolved", .skipped?): false
        default: true
        }
    }

    public init() {}

    public func record(status: AlertmanagerPayload.Status, action: Action) {
        counts.withLock { $0[Key(status: status.rawValue, action: action), default: 0] += 1 }
    }

    /// A request to the webhook refused for its bearer token.
    public func recordUnauthorized() {
        counts.withLock { $0[Key(status: Self.unknownStatus, action: .unauthorized), default: 0] += 1 }
    }

    public func count(status: AlertmanagerPayload.Status, action: Action) -> UInt64 {
        counts.withLock { $0[Key(status: status.rawValue, action: action)] ?? 0 }
    }

    public var unauthorizedCount: UInt64 {
        counts.withLock { $0[Key(status: Self.unknownStatus, action: .unauthorized)] ?? 0 }
    }

    /// The families to append to every scrape.
    public var families: [MetricFamily] {
        let snapshot = counts.withLock { $0 }
        var byValues: [[String]: UInt64] = [:]
        for (key, count) in snapshot { byValues[[key.status, key.action.rawValue]] = count }
        return [Self.labels.family("bgpmesh_webhook_alerts_total",
                                   help: "Alerts received on /api/v1/alerts, by alert status and what the agent did with them "
                                       + "(action=unauthorized, status=unknown: a request refused for its bearer token, counted once).",
                                   counts: byValues)]
    }
}
