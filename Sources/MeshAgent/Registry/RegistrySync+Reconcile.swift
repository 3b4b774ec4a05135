#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Logging
import TincControl

/// Reconciling files: hosts/ and conf.d/bgpmesh.conf follow the view (decided by
/// `HostFileReconciler` and `ConnectToPlanner`), then tincd reloads. A host file is written or
/// removed only when it does not exist or the ledger (`OwnedFiles`) says the agent wrote it.
extension RegistrySync {
    /// Brings hosts/ and conf.d/bgpmesh.conf in line with the view, then reloads tincd if
    /// anything changed (or a previous reload failed).
    func reconcile() async {
        rounds += 1
        maintainLedger()
        guard synced, let me else { return }
        let now = clock.now()
        var changed = false
        let plan = hostFiles.plan(view: view, me: me, now: now, owned: ownedFiles.names, held: Set(view.refused.keys))
        for record in plan.write {
            let quiet = plan.quiet.contains(record.name)
            switch installHostFile(record, quiet: quiet) {
            case .written:
                // A rotated key needs no HUP (see `HostFileReconciler.quiet`). Another change in
                // the same round still sends one: tincd then closes the connection to that node
                // only if the file's mtime is newer than its last reload, which `quiet` avoids.
                if !quiet { changed = true }
                hostFiles.installed(record.name)
                installedKeys[record.name] = record.key.fingerprintSHA256
                // The rotating node waits for this node's ack: publish it now, not at the next keepalive.
                if quiet { publishWake.signal() }
            case .unchanged:
                hostFiles.installed(record.name)
                installedKeys[record.name] = record.key.fingerprintSHA256
            // A conflict is the operator's file: reported by the drift check, never retried here.
            case .conflict: hostFiles.installed(record.name)
            case .failed: break
            }
        }
        for name in plan.remove where removeHostFile(name) { changed = true }
        forgetWriteFailures(wanted: Set(view.records.keys).subtracting(view.refused.keys))
        offerPeers(me)
        if updateConnectTo(me, now: now) { changed = true }
        if changed { noteChange() }
        await reloadIfPending()
    }

    /// Hands the records to the peers-file writer, with the names whose block stays as it is:
    /// removed nodes within the host file's hold, and names whose current value is refused. Only
    /// from a registry that holds this node (an empty answer must not empty the file either).
    func offerPeers(_ me: TincNodeName) {
        guard let peersWriter, view.records[me] != nil else { return }
        let kept = Set(hostFiles.pendingRemoval.keys.map(\.rawValue)).union(view.refused.keys.map(\.rawValue))
        peersWriter.offer(.init(me: me.rawValue, records: view.records.values.map(\.record), kept: kept))
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

    enum InstallResult { case written, unchanged, conflict, failed }

    /// Writes hosts/<peer> when its bytes differ and the file is the agent's (or missing).
    /// `quiet` (a rotated key, installed without HUP) gives the new file the old one's mtime:
    /// tinc 1.0.36 closes, at its next HUP, every connection whose host file's mtime is newer
    /// than the previous HUP (net.c), so a later reload for another reason leaves it alone.
    func installHostFile(_ record: ValidNodeRecord, quiet: Bool = false) -> InstallResult {
        let name = record.name
        let wanted = Array(record.hostFile.utf8)
        let onDisk = RegistryDrift.onDisk(files, name)
        switch HostFileReconciler.claim(onDisk, owned: ownedFiles.owns(name), expected: wanted) {
        case .conflict:
            if hostFiles.refused(name) {
                logger.warning("host file not written by the agent; leaving it as it is (conflict)",
                               metadata: ["peer": "\(name)", "file": "\(name.hostFilePath(netDirectory: settings.tincDirectory))",
                                          "record_key_sha256": "\(record.key.fingerprintSHA256)"])
            }
            return .conflict
        case .adoptable:
            guard noteOwned(name, wanted) else { return .failed }
            hostFiles.resolved(name)
            logger.notice("host file adopted: it holds exactly what the agent writes for the record", metadata: ["peer": "\(name)"])
            return .unchanged
        case .absent, .owned:
            break
        }
        hostFiles.resolved(name)
        if case .bytes(let existing) = onDisk {
            // Already right (the ledger follows, for a file put back by hand byte for byte).
            if existing == wanted {
                _ = noteOwned(name, wanted)
                return .unchanged
            }
            if let last = ownedFiles.hashes[name], OwnedFiles.hash(existing) != last {
                logger.notice("host file changed behind the agent's back; putting it right", metadata: ["peer": "\(name)"])
            }
        }
        let existing: [UInt8]? = if case .bytes(let bytes) = onDisk { bytes } else { nil }
        let previousKey = existing.flatMap { try? TincRSAPublicKey(pemText: String(decoding: $0, as: UTF8.self)) }
        // The ledger first, then the file: see `OwnedFiles.record`. Without the entry saved the
        // file is not written (the round tries again), so no written file is ever missing from it.
        guard noteOwned(name, wanted) else { return .failed }
        let path = name.hostFilePath(netDirectory: settings.tincDirectory)
        var before = stat()
        let hadFile = quiet && stat(path, &before) == 0
        do {
            let outcome = try files.writeHostFile(name, record.hostFile)
            noteWrite("hosts/\(name)", failed: nil)
            guard outcome == .written else { return .unchanged }
        } catch {
            noteWrite("hosts/\(name)", failed: error)
            metrics.error("hostfile")
            logger.error("cannot write host file", metadata: ["peer": "\(name)", "error": "\(error)"])
            return .failed
        }
        metrics.update { $0.hostfileWrites += 1 }
        if hadFile {
            var times = [before.st_atim, before.st_mtim]
            if utimensat(AT_FDCWD, path, &times, 0) != 0 {
                logger.notice("cannot keep the rotated host file's mtime; tincd's next reload reconnects to that node once",
                              metadata: ["peer": "\(name)", "errno": "\(errno)"])
            }
        }
        if let previousKey, previousKey != record.key, quiet {
            metrics.update { $0.keyChanges += 1 }
            logger.notice("peer key rotated; host file installed without reloading tincd",
                          metadata: ["peer": "\(record.name)", "old_sha256": "\(previousKey.fingerprintSHA256)",
                                     "new_sha256": "\(record.key.fingerprintSHA256)"])
        } else if let previousKey, previousKey != record.key {
            metrics.update { $0.keyChanges += 1 }
            logger.warning("peer key replaced", metadata: ["peer": "\(record.name)", "old_sha256": "\(previousKey.fingerprintSHA256)",
                                                           "new_sha256": "\(record.key.fingerprintSHA256)"])
        } else {
            logger.info("host file written", metadata: ["peer": "\(record.name)", "sha256": "\(record.key.fingerprintSHA256)"])
        }
        return .written
    }

    /// Removes hosts/<peer> if the agent wrote it; returns whether a file went.
    private func removeHostFile(_ name: TincNodeName) -> Bool {
        guard ownedFiles.owns(name) else {
            if RegistryDrift.onDisk(files, name) != .absent, hostFiles.refused(name) {
                logger.warning("host file of a decommissioned node was not written by the agent; leaving it as it is",
                               metadata: ["peer": "\(name)", "file": "\(name.hostFilePath(netDirectory: settings.tincDirectory))"])
            }
            return false
        }
        hostFiles.resolved(name)
        // The file first, then the entry: a failure between leaves an entry for a missing file
        // (the agent may write that name again, which is harmless); the other order could leave
        // a decommissioned node's key in hosts/ that the agent no longer counts as its own.
        let removed: Bool
        do {
            removed = try files.removeHostFile(name)
        } catch {
            metrics.error("hostfile")
            logger.error("cannot remove host file", metadata: ["peer": "\(name)", "error": "\(error)"])
            return false
        }
        do {
            try ownedFiles.forget(name)
        } catch {
            ledgerFailed(error, "cannot save the ledger of owned files after a removal; retrying every round")
        }
        guard removed else { return false }
        metrics.update { $0.hostfileRemovals += 1 }
        logger.notice("host file removed", metadata: ["peer": "\(name)"])
        return true
    }

    /// Records in the ledger that the agent writes (or holds) these bytes in hosts/<name>;
    /// false, logged, when the ledger cannot be saved.
    private func noteOwned(_ name: TincNodeName, _ bytes: [UInt8]) -> Bool {
        do {
            try ownedFiles.record(name, bytes: bytes)
            return true
        } catch {
            ledgerFailed(error, "cannot record the host file in the ledger of owned files; not writing it")
            return false
        }
    }

    private func ledgerFailed(_ error: OwnedFilesError, _ message: Logger.Message) {
        metrics.error("owned_files")
        if ownedFiles.isNew(error) { logger.error(message, metadata: ["error": "\(error)"]) }
    }

    /// Each round: a broken ledger is read again once its file changed (a repaired ledger
    /// re-plans every record and sweeps again, as a full read does); a removal not saved yet
    /// is saved.
    func maintainLedger() {
        if ownedFiles.reloadIfChanged() {
            if let broken = ownedFiles.broken {
                metrics.error("owned_files")
                logger.error("ledger of owned files still unusable; no host file counts as the agent's", metadata: ["error": "\(broken)"])
            } else {
                logger.notice("ledger of owned files usable again", metadata: ["files": "\(ownedFiles.hashes.count)"])
                hostFiles.resynced(view.records.keys)
            }
        }
        do {
            try ownedFiles.retrySave()
        } catch {
            ledgerFailed(error, "cannot save the ledger of owned files after a removal; retrying every round")
        }
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
            let outcome = try files.writeConfD(Self.connectToFile, settings.connectToText(chosen))
            noteWrite("conf.d/\(Self.connectToFile)", failed: nil)
            guard outcome == .written else {
                planned = chosen
                return false
            }
        } catch {
            noteWrite("conf.d/\(Self.connectToFile)", failed: error)
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

    /// A host file that is no longer to be written (its node left, or its record is now refused)
    /// is no longer failing: its failure leaves health and the gauge.
    func forgetWriteFailures(wanted: Set<TincNodeName>) {
        let stale = writeFailures.keys.filter { file in
            guard file.hasPrefix("hosts/"), let name = TincNodeName(String(file.dropFirst("hosts/".count))) else { return false }
            return !wanted.contains(name)
        }
        guard !stale.isEmpty else { return }
        for file in stale { writeFailures[file] = nil }
        let count = writeFailures.count
        metrics.update { $0.filesUnwritable = count }
    }

    /// Records how the last write of `file` (relative to the tinc directory) went: a failure
    /// (ENOSPC, EROFS, EIO) is reported in health until a write of that file succeeds.
    func noteWrite(_ file: String, failed error: TincFileError?) {
        let before = writeFailures[file]
        if let error {
            writeFailures[file] = "\(error)"
            if before == nil { logger.warning("file write failing; the previous file is kept whole", metadata: ["file": "\(file)"]) }
        } else if before != nil {
            writeFailures[file] = nil
            logger.notice("file written again after failing", metadata: ["file": "\(file)"])
        } else {
            return
        }
        let count = writeFailures.count
        metrics.update { $0.filesUnwritable = count }
    }
}
