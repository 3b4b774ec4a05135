#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TincControl

/// Reconciling files: hosts/ and conf.d/bgpmesh.conf follow the view (decided by
/// `HostFileReconciler` and `ConnectToPlanner`), then tincd reloads.
extension RegistrySync {
    /// Brings hosts/ and conf.d/bgpmesh.conf in line with the view, then reloads tincd if
    /// anything changed (or a previous reload failed).
    func reconcile() async {
        rounds += 1
        guard synced, let me else { return }
        let now = clock.now()
        var changed = false
        let plan = hostFiles.plan(view: view, me: me, now: now) {
            files.hostNames(startingWith: RegistryRecordCheck.hostFileMarker)
        }
        for record in plan.write {
            switch installHostFile(record) {
            case .written: changed = true; hostFiles.installed(record.name)
            case .unchanged: hostFiles.installed(record.name)
            case .failed: break
            }
        }
        for name in plan.remove where removeHostFile(name) { changed = true }
        if updateConnectTo(me, now: now) { changed = true }
        if changed { noteChange() }
        await reloadIfPending()
    }

    func noteChange() {
        reloadPending = true
        metrics.update { $0.lastChange = clock.date().timeIntervalSince1970 }
    }

    func reloadIfPending() async {
        if reloadPending, let reloader {
            do {
                try await reloader.reloadAndRetry()
                reloadPending = false
                metrics.update { $0.signals += 1 }
                logger.info("tincd reloaded (HUP, ALRM)")
            } catch {
                switch error {
                case .notRunning, .pidfile:
                    // tincd reads the files when it starts.
                    reloadPending = false
                    logger.notice("tincd is not running; it reads the new files when it starts", metadata: ["error": "\(error)"])
                default:
                    metrics.error("signal")
                    logger.warning("could not make tincd reload; retrying", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    enum InstallResult { case written, unchanged, failed }

    /// Writes hosts/<peer> when its bytes differ.
    func installHostFile(_ record: ValidNodeRecord) -> InstallResult {
        let existing = files.hostFileBytes(record.name)
        if let existing, existing.elementsEqual(record.hostFile.utf8) { return .unchanged }
        let previousKey = existing.flatMap { try? TincRSAPublicKey(pemText: String(decoding: $0, as: UTF8.self)) }
        do {
            guard try files.writeHostFile(record.name, record.hostFile) == .written else { return .unchanged }
        } catch {
            metrics.error("hostfile")
            logger.error("cannot write host file", metadata: ["peer": "\(record.name)", "error": "\(error)"])
            return .failed
        }
        metrics.update { $0.hostfileWrites += 1 }
        if let previousKey, previousKey != record.key {
            metrics.update { $0.keyChanges += 1 }
            logger.warning("peer key replaced", metadata: ["peer": "\(record.name)", "old_sha256": "\(previousKey.fingerprintSHA256)",
                                                           "new_sha256": "\(record.key.fingerprintSHA256)"])
        } else {
            logger.info("host file written", metadata: ["peer": "\(record.name)", "sha256": "\(record.key.fingerprintSHA256)"])
        }
        return .written
    }

    private func removeHostFile(_ name: TincNodeName) -> Bool {
        do {
            guard try files.removeHostFile(name) else { return false }
        } catch {
            metrics.error("hostfile")
            logger.error("cannot remove host file", metadata: ["peer": "\(name)", "error": "\(error)"])
            return false
        }
        metrics.update { $0.hostfileRemovals += 1 }
        logger.notice("host file removed", metadata: ["peer": "\(name)"])
        return true
    }

    /// Re-plans the ConnectTo lines and writes conf.d/bgpmesh.conf when the set changes.
    private func updateConnectTo(_ me: TincNodeName, now: ContinuousClock.Instant) -> Bool {
        let peers = peerHealth.peers(records: view.records.keys, alive: view.alive, reachable: reachable(), self: me, now: now)
        let current = planned ?? files.connectTo(inConfD: Self.connectToFile)
        let planner = ConnectToPlanner(fanout: settings.fanout, grace: settings.grace)
        let chosen = planner.plan(self: me, peers: peers, current: current, now: now)
        metrics.update { $0.connectTo = chosen.map(\.rawValue) }
        // The file is written when the plan changes (or at the first plan); a file edited
        // behind the agent's back is drift, for the repair loop.
        if planned != nil && chosen == planned { return false }
        return writeConnectTo(chosen, previous: current)
    }

    func writeConnectTo(_ chosen: [TincNodeName], previous current: [TincNodeName]) -> Bool {
        do {
            guard try files.writeConfD(Self.connectToFile, settings.connectToText(chosen)) == .written else {
                planned = chosen
                return false
            }
        } catch {
            metrics.error("connectto")
            logger.error("cannot write ConnectTo file", metadata: ["file": "conf.d/\(Self.connectToFile)", "error": "\(error)"])
            return false
        }
        planned = chosen
        metrics.update { $0.connectToChanges += 1 }
        logger.notice("ConnectTo changed", metadata: ["from": "\(current.map(\.rawValue).joined(separator: ","))",
                                                      "to": "\(chosen.map(\.rawValue).joined(separator: ","))"])
        return true
    }
}
