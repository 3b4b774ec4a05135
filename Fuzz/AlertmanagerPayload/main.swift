// libFuzzer entry for the Alertmanager webhook (POST /api/v1/alerts): the payload decoder and
// the mapping of each alert to a repair request (AlertmanagerPayload.Alert.triage), from
// untrusted bytes. Built by scripts/fuzz-alerts.sh with the pure sources of Sources/MeshAgent/Web.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The node names the agent may run as: a known one, and none yet (tinc.conf Name unread).
let selves: [String?] = ["node1", nil]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAlertmanagerPayload(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let payload: AlertmanagerPayload
    do {
        payload = try AlertmanagerPayload.decode(bytes)
    } catch {
        // The 400's body: one line, never the whole input echoed back many times.
        precondition(error.description.utf8.count <= 2 * bytes.count + 512, "refusal text grows with the input")
        return 0
    }
    precondition(payload.version == AlertmanagerPayload.supportedVersion, "decoded another payload version")
    // Every alert costs at least its braces and the four required keys.
    precondition(payload.alerts.count * 40 <= bytes.count, "more alerts than the body can hold")

    // What the agent decodes, encoded again, decodes to the same payload.
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let encoded = try? encoder.encode(payload) else { preconditionFailure("a decoded payload does not encode") }
    precondition((try? AlertmanagerPayload.decode(Array(encoded))) == payload, "decode(encode(payload)) changed it")

    for alert in payload.alerts {
        for me in selves {
            check(alert, me: me, triage: alert.triage(me: me))
        }
    }
    return 0
}

/// The invariants of one alert's triage.
func check(_ alert: AlertmanagerPayload.Alert, me: String?, triage: AlertTriage) {
    switch triage {
    case .invalid, .skipped:
        break
    case .otherNode:
        precondition(me != nil && alert.labels["node"] != me, "another node's alert for this node")
    case let .cancel(alertKey):
        precondition(alert.status == .resolved, "a firing alert cancels")
        precondition(alertKey == alert.fingerprint + "@" + alert.startsAt, "cancels another alert's key")
        precondition(me == nil || alert.labels["node"] == me, "cancels for another node")
    case let .repair(request):
        precondition(alert.status == .firing, "a resolved alert queues a repair")
        precondition(me != nil && alert.labels["node"] == me, "a repair for another node")
        precondition(request.trigger == .webhook, "a webhook repair with another trigger")
        precondition(!request.kind.isEmpty && request.kind == alert.labels["alertname"], "the repair is not the alert's")
        precondition(request.alertKey == alert.key && !alert.fingerprint.isEmpty && !alert.startsAt.isEmpty, "no dedup key")
        // The target becomes a host file name or a birdc argument: tinc's name rule, bounded.
        if let target = request.target {
            precondition(AlertTriage.isValidTarget(target), "target outside the name rule")
            precondition(!target.contains("/") && !target.contains(".."), "target is a path")
            precondition(target.utf8.count <= 64, "target longer than 64 bytes")
            precondition([alert.labels["peer"], alert.labels["session"], alert.labels["name"]].contains(target),
                         "target is not one of the alert's labels")
        } else {
            precondition(alert.labels["peer"] == nil && alert.labels["session"] == nil && alert.labels["name"] == nil,
                         "a target label was dropped")
        }
    }
    // The dedup key is kept for an hour in a memory of 4096 keys: it must stay small.
    switch triage {
    case .cancel, .repair: precondition(alert.key.utf8.count <= 2 * AlertTriage.maxKeyPartBytes + 1, "dedup key longer than its bound")
    case .invalid, .otherNode, .skipped: break
    }
}
