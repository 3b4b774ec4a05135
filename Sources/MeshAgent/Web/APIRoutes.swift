#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPServer
import Logging

/// The JSON API: the Alertmanager webhook, manual repairs and the status document.
public enum APIRoutes {
    public static let alertsPath = "/api/v1/alerts"
    public static let repairPath = "/api/v1/repair"
    public static let statusPath = "/api/v1/status"
    public static let rotatePath = "/api/v1/keys/rotate"
    /// For `HTTPRequestMetrics(routes:)`.
    public static let paths: Set<String> = [alertsPath, repairPath, statusPath, rotatePath]

    /// Registers the three routes. `nodeName` is asked per request (tinc.conf's Name may be
    /// unknown at first); `token` nil leaves the two mutating endpoints answering 503.
    public static func register(
        into router: inout HTTPRouter, service: any RepairService, nodeName: @escaping @Sendable () -> String?,
        token: WebhookToken?, metrics: WebhookMetrics, memory: AlertKeyMemory = AlertKeyMemory(), logger: Logger,
        rotation: KeyRotation? = nil
    ) {
        var apiLogger = logger
        apiLogger[metadataKey: "component"] = "api"
        let api = RepairAPI(service: service, nodeName: nodeName, token: token, metrics: metrics, memory: memory, logger: apiLogger,
                            rotation: rotation)
        router.add(["POST"], alertsPath) { await api.alerts($0) }
        router.add(["POST"], repairPath) { await api.repair($0) }
        router.add(["GET"], statusPath) { _ in await api.status() }
        if rotation != nil { router.add(["POST"], rotatePath) { await api.rotate($0) } }
    }
}

/// The handlers behind `APIRoutes`.
struct RepairAPI: Sendable {
    let service: any RepairService
    let nodeName: @Sendable () -> String?
    let token: WebhookToken?
    let metrics: WebhookMetrics
    let memory: AlertKeyMemory
    let logger: Logger
    var rotation: KeyRotation?

    /// Bodies above these get 413 even when `web.max-request-body-bytes` is larger. An Alertmanager
    /// group of a thousand alerts is about 1 MB.
    static let maxAlertsBodyBytes = 1 << 20
    static let maxRepairBodyBytes = 16 << 10

    /// The actions POST /api/v1/repair accepts (`RepairRequest.kind` for a manual request).
    static let manualActions = ["auto", "reinstall-host-keys", "connectto", "tinc-retry", "tinc-reload", "restart-tincd", "restart-bird",
                                "bgp-restart"]

    // MARK: POST /api/v1/alerts

    /// What was done with one alert; the 200's body lists one per alert, in order.
    struct AlertOutcome: Encodable, Equatable {
        var fingerprint: String
        var startsAt: String
        var status: AlertmanagerPayload.Status
        var alertname: String?
        var node: String?
        var action: WebhookMetrics.Action
        /// The repair loop's id, when queued.
        var id: UInt64?
        var reason: String?
    }

    struct AlertsSummary: Encodable {
        var node: String?
        var alerts: [AlertOutcome]
    }

    func alerts(_ request: HTTPRequest) async -> HTTPResponse {
        if let refusal = authorize(request, maxBody: Self.maxAlertsBodyBytes) {
            if refusal.status == 401 { metrics.recordUnauthorized() }
            return refusal
        }
        let payload: AlertmanagerPayload
        do {
            payload = try AlertmanagerPayload.decode(request.body)
        } catch {
            logger.warning("webhook payload refused", metadata: ["remote": "\(request.remoteAddress)", "error": "\(error)"])
            return .text(400, error.description + "\n")
        }
        let me = nodeName()
        var outcomes: [AlertOutcome] = []
        outcomes.reserveCapacity(payload.alerts.count)
        for alert in payload.alerts {
            let outcome = await handle(alert, me: me)
            metrics.record(status: outcome.status, action: outcome.action)
            log(outcome, groupKey: payload.groupKey)
            outcomes.append(outcome)
        }
        return Self.json(200, AlertsSummary(node: me, alerts: outcomes))
    }

    /// Decides one alert. Invalid and other nodes' alerts are never remembered, so only this
    /// node's valid alerts fill the dedup memory.
    func handle(_ alert: AlertmanagerPayload.Alert, me: String?) async -> AlertOutcome {
        var outcome = AlertOutcome(fingerprint: alert.fingerprint, startsAt: alert.startsAt, status: alert.status,
                                   alertname: alert.labels["alertname"], node: alert.labels["node"], action: .invalid)
        func verdict(_ action: WebhookMetrics.Action, _ reason: String? = nil) -> AlertOutcome {
            outcome.action = action
            outcome.reason = reason
            return outcome
        }
        switch alert.triage(me: me) {
        case let .invalid(reason): return verdict(.invalid, reason)
        case .otherNode: return verdict(.otherNode)
        case let .skipped(reason): return verdict(.skipped, reason)
        case let .cancel(key):
            guard memory.insert("resolved " + key) else { return verdict(.duplicate) }
            await service.cancel(alertKey: key)
            return verdict(.cancelled)
        case let .repair(request):
            guard memory.insert("firing " + alert.key) else { return verdict(.duplicate) }
            switch await service.submit(request) {
            case let .queued(id):
                outcome.id = id
                return verdict(.queued)
            case let .skipped(reason), let .refused(reason, _):
                return verdict(.skipped, reason)
            }
        }
    }

    private func log(_ outcome: AlertOutcome, groupKey: String) {
        var metadata: Logger.Metadata = ["fingerprint": "\(outcome.fingerprint)", "starts_at": "\(outcome.startsAt)",
                                         "status": "\(outcome.status.rawValue)", "action": "\(outcome.action.rawValue)"]
        if let alertname = outcome.alertname { metadata["alertname"] = "\(alertname)" }
        if let node = outcome.node { metadata["node"] = "\(node)" }
        if let id = outcome.id { metadata["repair_id"] = "\(id)" }
        if let reason = outcome.reason { metadata["reason"] = "\(reason)" }
        switch outcome.action {
        case .queued, .cancelled, .skipped: logger.info("webhook alert", metadata: metadata)
        case .invalid:
            metadata["group_key"] = "\(groupKey)"
            logger.warning("webhook alert not usable", metadata: metadata)
        case .duplicate, .otherNode, .unauthorized: logger.debug("webhook alert ignored", metadata: metadata)
        }
    }

    // MARK: POST /api/v1/repair

    struct ManualResult: Encodable {
        var action: String
        var target: String?
        /// `queued`, `skipped`, or `refused` (with its HTTP status: 409 repair.mode off, 429 rate limit).
        var result: String
        var force: Bool?
        var id: UInt64?
        var reason: String?
    }

    func repair(_ request: HTTPRequest) async -> HTTPResponse {
        if let refusal = authorize(request, maxBody: Self.maxRepairBodyBytes) { return refusal }
        let action: String, target: String?, force: Bool
        switch Self.parseManual(request.body) {
        case let .success(parsed): (action, target, force) = parsed
        case let .failure(problem): return .text(400, problem.reason + "\n")
        }
        var manual = RepairRequest(trigger: .manual, kind: action, target: target)
        manual.force = force
        let submission = await service.submit(manual)
        var result = ManualResult(action: action, target: target, result: "queued")
        if force { result.force = true }
        var status = 202
        switch submission {
        case let .queued(id): result.id = id
        case let .skipped(reason):
            result.result = "skipped"
            result.reason = reason
        case let .refused(reason, code):
            result.result = "refused"
            result.reason = reason
            status = code
        }
        var metadata: Logger.Metadata = ["action": "\(action)", "target": "\(target ?? "")", "result": "\(result.result)",
                                         "remote": "\(request.remoteAddress)"]
        if force { metadata["force"] = "true" }
        if let reason = result.reason { metadata["reason"] = "\(reason)" }
        if force || status != 202 {
            logger.notice("manual repair", metadata: metadata)
        } else {
            logger.info("manual repair", metadata: metadata)
        }
        return Self.json(status, result)
    }

    struct Problem: Error { var reason: String }

    /// `{"action": "...", "target": "...", "force": false}`, all optional; an empty body means `{}`
    /// (action "auto"). `force: true` runs it even with repair.mode off (logged and counted).
    static func parseManual(_ body: [UInt8]) -> Result<(action: String, target: String?, force: Bool), Problem> {
        let isBlank = body.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        var object: [String: JSONStringOrNull] = [:]
        if !isBlank {
            do {
                object = try JSONDecoder().decode([String: JSONStringOrNull].self, from: Data(body))
            } catch DecodingError.typeMismatch {
                return .failure(Problem(reason: "the body must be a JSON object like {\"action\": \"auto\", \"target\": \"node2\"}"))
            } catch {
                return .failure(Problem(reason: "the body is not JSON: \(JSONProblem.describe(error))"))
            }
        }
        if let unknown = object.keys.sorted().first(where: { !["action", "target", "force"].contains($0) }) {
            return .failure(Problem(reason: "unknown field \"\(unknown)\"; the fields are action, target and force"))
        }
        let action: String
        switch object["action"] {
        case nil, .null?: action = "auto"
        case .string(let value)?: action = value
        case .other?, .bool?: return .failure(Problem(reason: "\"action\" must be a string"))
        }
        guard manualActions.contains(action) else {
            return .failure(Problem(reason: "unknown action \"\(action)\"; known: " + manualActions.joined(separator: ", ")))
        }
        var target: String?
        switch object["target"] {
        case nil, .null?: target = nil
        case .string(let value)?:
            guard isValidTarget(value) else {
                return .failure(Problem(reason: "target \"\(value)\" is not a tinc node or BIRD protocol name ([A-Za-z0-9_], at most 64)"))
            }
            target = value
        case .other?, .bool?: return .failure(Problem(reason: "\"target\" must be a string"))
        }
        var force = false
        switch object["force"] {
        case nil, .null?: force = false
        case .bool(let value)?: force = value
        case .string?, .other?: return .failure(Problem(reason: "\"force\" must be true or false"))
        }
        return .success((action, target, force))
    }

    static func isValidTarget(_ name: String) -> Bool { AlertTriage.isValidTarget(name) }

    // MARK: GET /api/v1/status

    func status() async -> HTTPResponse {
        var body = await service.statusJSON()
        if let rotation { body = Self.adding("key_rotation", await rotation.status(), to: body) }
        return HTTPResponse(status: 200, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"], body: body)
    }

    /// `document` (a JSON object) with one more member, placed before its closing brace.
    static func adding(_ key: String, _ value: some Encodable, to document: [UInt8]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let encoded = try? Array(encoder.encode(value)),
              let close = document.lastIndex(of: UInt8(ascii: "}")) else { return document }
        let hasMembers = document[..<close].contains { $0 == UInt8(ascii: ":") }
        return Array(document[..<close]) + Array(((hasMembers ? "," : "") + "\"\(key)\":").utf8) + encoded + Array(document[close...])
    }

    // MARK: POST /api/v1/keys/rotate

    struct RotationStarted: Encodable {
        var id: String
        var phase: String
    }

    /// 202 with the rotation's id; 409 while one runs; 503 when no rotation can start
    /// (no restart command, registry not ready, unreadable state).
    func rotate(_ request: HTTPRequest) async -> HTTPResponse {
        if let refusal = authorize(request, maxBody: Self.maxRepairBodyBytes) { return refusal }
        guard let rotation else { return .text(404, "key rotation needs the registry\n") }
        do {
            let id = try await rotation.start()
            logger.notice("key rotation requested", metadata: ["id": "\(id)", "remote": "\(request.remoteAddress)"])
            return Self.json(202, RotationStarted(id: id, phase: RotationState.Phase.generated.rawValue))
        } catch {
            logger.warning("key rotation refused", metadata: ["error": "\(error)", "remote": "\(request.remoteAddress)"])
            if case .running = error { return .text(409, error.description + "\n") }
            return .text(503, error.description + "\n")
        }
    }

    // MARK: shared

    /// The refusal for a request that may not mutate anything, or nil to go on.
    func authorize(_ request: HTTPRequest, maxBody: Int) -> HTTPResponse? {
        guard let token else {
            return .text(503, "no token configured: set web.webhook-token-file to enable \(request.path)\n")
        }
        switch token.verify(authorization: request.headers["Authorization"]) {
        case .accepted: break
        case .missing:
            var response = HTTPResponse.text(401, "401 Unauthorized: send Authorization: Bearer <token>\n")
            response.headers.add("WWW-Authenticate", "Bearer realm=\"bgpmesh-agent\"")
            return response
        case .wrong:
            logger.notice("wrong bearer token", metadata: ["path": "\(request.path)", "remote": "\(request.remoteAddress)"])
            var response = HTTPResponse.text(401, "401 Unauthorized: wrong bearer token\n")
            response.headers.add("WWW-Authenticate", "Bearer realm=\"bgpmesh-agent\", error=\"invalid_token\"")
            return response
        }
        guard request.body.count <= maxBody else {
            return .text(413, "413 Content Too Large: \(request.path) takes at most \(maxBody) bytes\n")
        }
        return nil
    }

    static func json(_ status: Int, _ value: some Encodable) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain structs cannot fail; an empty object is still valid JSON if it ever did.
        let body = (try? encoder.encode(value)).map { Array($0) + [0x0A] } ?? Array("{}\n".utf8)
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }
}

/// A JSON value that is a string, null, a boolean, or anything else (which the caller refuses).
enum JSONStringOrNull: Decodable {
    case string(String)
    case null
    /// Only `force` takes one.
    case bool(Bool)
    case other

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else {
            self = .other
        }
    }
}
