#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension BIRDStatus {
    /// Parses the reply to `show status`.
    public static func parse(_ reply: BIRDReply, time: BIRDTimeContext = BIRDTimeContext()) throws(BIRDParseError) -> BIRDStatus {
        try BIRDParseError.checkDaemonError(reply)
        return try reply.withLines { base, lines throws(BIRDParseError) in
            var status = BIRDStatus(version: "", daemonState: .other(""))
            var sawVersion = false
            for line in lines {
                let text = ByteSlice(base: base, start: line.textStart, end: line.textEnd)
                switch line.code {
                case 1000:
                    sawVersion = true
                    status.version = (text.hasPrefix("BIRD ") ? text.dropFirst(5) : text).trimmed().string
                case 1011:
                    let body = text.trimmed()
                    if body.hasPrefix("Router ID is ") {
                        status.routerID = body.dropFirst(13).trimmed().string
                    } else if body.hasPrefix("Hostname is ") {
                        status.hostname = body.dropFirst(12).trimmed().string
                    } else if body.hasPrefix("Current server time is ") {
                        let value = body.dropFirst(23)
                        status.serverTimeText = value.string
                        status.serverTime = BIRDTime.parse(value, context: time)
                    } else if body.hasPrefix("Last reboot on ") {
                        let value = body.dropFirst(15)
                        status.lastRebootText = value.string
                        status.lastReboot = BIRDTime.parse(value, context: time)
                    } else if body.hasPrefix("Last reconfiguration on ") {
                        let value = body.dropFirst(24)
                        status.lastReconfigurationText = value.string
                        status.lastReconfiguration = BIRDTime.parse(value, context: time)
                    }
                case 24:
                    let body = text.trimmed()
                    if body.hasPrefix("Graceful restart recovery in progress") {
                        status.gracefulRestartRecovery = true
                    } else if body.hasPrefix("Waiting for "), let (count, _) = body.dropFirst(12).nextToken() {
                        status.gracefulRestartWaitingChannels = count.parseInt()
                    } else if body.hasPrefix("Wait timer is ") {
                        status.gracefulRestartWaitTimer = BIRDTimer(body.dropFirst(14))
                    }
                case 13:
                    status.daemonState = BIRDDaemonState(text: text.trimmed().string)
                default:
                    continue
                }
            }
            guard sawVersion else {
                throw .unexpectedReply(expected: "1000 BIRD version line", code: reply.code, text: reply.finalText)
            }
            return status
        }
    }
}
