/// What triggered a repair.
public enum RepairTrigger: String, Sendable, Codable { case auto, webhook, manual }

/// A request for the repair loop: from an Alertmanager alert or POST /api/v1/repair.
public struct RepairRequest: Sendable, Equatable {
    public var trigger: RepairTrigger
    /// The alert name (webhook) or the requested action (manual: "reinstall-host-keys", "connectto", "tinc-retry", "tinc-reload", "restart-tincd", "restart-bird", "bgp-restart", or "auto" for "whatever the policy finds").
    public var kind: String
    /// The peer or BGP session the alert or request names (labels `peer`, `session`/`name`), if any.
    public var target: String?
    /// Alertmanager fingerprint + startsAt, to cancel on resolve; nil for manual requests.
    public var alertKey: String?
    public var labels: [String: String]
    /// Manual only: carry it out even with repair.mode off or dry-run (`"force": true`; logged and counted).
    public var force = false

    public init(trigger: RepairTrigger, kind: String, target: String? = nil, alertKey: String? = nil, labels: [String: String] = [:]) {
        self.trigger = trigger
        self.kind = kind
        self.target = target
        self.alertKey = alertKey
        self.labels = labels
    }
}

/// What the repair loop did with a `RepairRequest`. `refused` carries the HTTP status of a
/// manual request turned away (409: repair.mode is off; 429: the rate limit is reached).
public enum RepairSubmission: Sendable, Equatable { case queued(id: UInt64), skipped(reason: String), refused(reason: String, status: Int) }

/// The repair loop as the HTTP API sees it; the agent's repair executor implements it.
public protocol RepairService: Sendable {
    /// Queues the work and returns at once; never throws (a failed repair is never an HTTP error).
    func submit(_ request: RepairRequest) async -> RepairSubmission
    /// A resolved alert cancels pending work queued for it.
    func cancel(alertKey: String) async
    /// The JSON body of GET /api/v1/status (already encoded).
    func statusJSON() async -> [UInt8]
}
