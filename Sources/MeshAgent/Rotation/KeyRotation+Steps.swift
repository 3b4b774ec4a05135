import Glibc
import POSIXSupport
import TincControl

/// The phases, each saved before the next begins, so a restart of the agent repeats at most
/// the step it was in (every step can be done twice).
extension KeyRotation {
    /// Moves the current rotation on as far as it can go now.
    func advance() async {
        guard let current = state.current else { return }
        switch current.phase {
        case .idle: state.current = nil
        case .generated: await publish(current)
        case .published: await waitForAcks(current)
        case .installing: await install(current)
        case .restarted: await verify(current)
        case .rollingBack: await rollBack(current, reason: current.reason ?? "interrupted while rolling back")
        }
    }

    func newKey() -> TincRSAPrivateKey? {
        try? TincRSAPrivateKey(contentsOfFile: statePath(RotationState.newKeyFileName))
    }

    /// `generated` -> `published`: the record carries the new key and the chain ending old -> new.
    func publish(_ current: RotationState.Current) async {
        guard let key = newKey(), key.publicKey.fingerprintSHA256 == current.newFingerprint else {
            // Nothing was published: the rotation ends here, the old key stays.
            finish(.failed, error: "the new key \(statePath(RotationState.newKeyFileName)) is gone or damaged; nothing was published")
            return
        }
        if state.chain.last != current.statement { state.append(current.statement) }
        state.current?.phase = .published
        state.current?.publishedAt = unixNow
        saveOrLog()
        await registry.setRotation(key: key, chain: state.chain)
        registryPrimed = true
        logger.notice("published the new key with the rotation statement; waiting for the peers' acks",
                      metadata: ["id": "\(current.id)", "ack_timeout": "\(DurationSyntax.format(settings.ackTimeout))"])
    }

    /// `published` -> `installing`, once every alive peer acked or the ack timeout passed.
    func waitForAcks(_ current: RotationState.Current) async {
        if !registryPrimed {
            guard let key = newKey(), key.publicKey.fingerprintSHA256 == current.newFingerprint else {
                finish(.failed, error: "the new key is gone or damaged after it was published; peers that moved their pin need `bgpmesh-agent trust pin`")
                return
            }
            await registry.setRotation(key: key, chain: state.chain)
            registryPrimed = true
        }
        let published = await registry.publishedKeyFingerprint() == current.newFingerprint
        if let ack = await registry.ackProgress(fingerprint: current.newFingerprint) {
            progress = (ack.expected.count - ack.missing.count, ack.expected.count)
            let waited = unixNow - (current.publishedAt ?? current.startedAt)
            let timedOut = Double(waited) >= settings.ackTimeout.seconds
            guard published, ack.missing.isEmpty || timedOut else { return }
            if !ack.missing.isEmpty {
                logger.warning("ack timeout; installing the new key anyway (those peers follow the chain later)",
                               metadata: ["id": "\(current.id)", "missing": "\(ack.missing.map(\.rawValue).joined(separator: ","))"])
            }
        } else {
            return
        }
        let pid = await daemon.pid() ?? 0
        // Stopped (agent shutdown): the next start takes up the same phase.
        if Task.isCancelled { return }
        state.current?.phase = .installing
        state.current?.pidBeforeRestart = pid
        saveOrLog()
        await install(state.current!)
    }

    /// `installing` -> `restarted`: the old key and host file are kept in the state directory,
    /// the new ones installed atomically, tincd restarted.
    func install(_ current: RotationState.Current) async {
        guard let key = newKey(), key.publicKey.fingerprintSHA256 == current.newFingerprint else {
            await rollBack(current, reason: "the new key is gone or damaged")
            return
        }
        let hostPath = settings.tincDirectory + "/hosts/" + (await registry.localName()?.rawValue ?? "")
        do {
            try keepOld(hostPath: hostPath, newFingerprint: current.newFingerprint)
            try key.write(toFile: privateKeyPath)
            let text = try String(decoding: RegularFile.read(hostPath, limit: 1 << 20), as: UTF8.self)
            try TincAtomicFile.write(OwnHostFile.replacingKey(in: text, with: key.publicKey.pem), to: hostPath, mode: 0o644)
        } catch {
            await rollBack(current, reason: "cannot install the new key: \(error)")
            return
        }
        guard let command = settings.restartCommand else {
            await rollBack(current, reason: RotationError.noRestartCommand.description)
            return
        }
        let failure = await daemon.restart(command)
        if Task.isCancelled { return }
        if let failure {
            await rollBack(current, reason: "the restart command failed: \(failure)")
            return
        }
        state.current?.phase = .restarted
        saveOrLog()
        logger.notice("new key installed; tincd restarted", metadata: ["id": "\(current.id)"])
        await verify(state.current!)
    }

    /// Copies the old private key and host file aside, once (not again when the step repeats
    /// after the new ones were written).
    func keepOld(hostPath: String, newFingerprint: String) throws {
        let oldKey = statePath(RotationState.oldKeyFileName)
        if access(oldKey, F_OK) != 0 {
            let key = try TincRSAPrivateKey(contentsOfFile: privateKeyPath)
            // Already the new key (a repeated step whose copy was lost): nothing old to keep.
            guard key.publicKey.fingerprintSHA256 != newFingerprint else { return }
            try TincAtomicFile.write(try RegularFile.read(hostPath, limit: 1 << 20), to: statePath(RotationState.oldHostFileName), mode: 0o600)
            try key.write(toFile: oldKey)
        }
    }

    /// `restarted` -> done: a tincd other than the one before the restart runs (tincd 1.0
    /// exits at start when it cannot read its key). Then ALRM, and the record no longer needs
    /// the override: the host file and key file have the new key.
    func verify(_ current: RotationState.Current) async {
        let deadline = clock.now() + settings.verifyTimeout
        let before = current.pidBeforeRestart ?? 0
        var pid: Int32?
        while clock.now() < deadline, !Task.isCancelled {
            pid = await daemon.pid()
            if let pid, pid != before { break }
            try? await clock.sleep(for: .milliseconds(200))
        }
        if Task.isCancelled { return }
        guard let pid, pid != before else {
            await rollBack(current, reason: "tincd did not come back with the new key within \(DurationSyntax.format(settings.verifyTimeout))")
            return
        }
        await daemon.retry()
        await registry.setRotation(key: nil, chain: state.chain)
        state.keySince = unixNow
        removeFiles()
        finish(.success, error: nil)
        logger.notice("key rotation done", metadata: ["id": "\(current.id)", "tincd_pid": "\(pid)", "sha256": "\(current.newFingerprint)"])
    }

    /// Puts the old key and host file back, restarts tincd, and publishes the old key with a
    /// statement new -> old signed by the new key (peers that moved their pin move it back).
    func rollBack(_ current: RotationState.Current, reason: String) async {
        note(reason)
        if state.current?.phase != .rollingBack {
            state.current?.phase = .rollingBack
            state.current?.reason = reason
            saveOrLog()
        }
        logger.warning("key rotation failed; putting the old key back", metadata: ["id": "\(current.id)", "reason": "\(reason)"])
        let hostPath = settings.tincDirectory + "/hosts/" + (await registry.localName()?.rawValue ?? "")
        let oldKeyPath = statePath(RotationState.oldKeyFileName)
        if access(oldKeyPath, F_OK) == 0 {
            do {
                let old = try TincRSAPrivateKey(contentsOfFile: oldKeyPath)
                try old.write(toFile: privateKeyPath)
                try TincAtomicFile.write(try RegularFile.read(statePath(RotationState.oldHostFileName), limit: 1 << 20), to: hostPath, mode: 0o644)
            } catch {
                finish(.failed, error: "\(reason); the rollback could not restore the old key: \(error)")
                return
            }
            if let command = settings.restartCommand {
                let failure = await daemon.restart(command)
                if Task.isCancelled { return }
                if let failure {
                    finish(.failed, error: "\(reason); restarting tincd with the old key failed too: \(failure)")
                    return
                }
            }
            await daemon.retry()
        }
        // Peers may have moved their pin to the new key: lead them back.
        if state.chain.last == current.statement, let new = newKey() {
            do {
                state.append(try RotationStatement.sign(name: current.statement.name, from: new,
                                                        toFingerprintSHA256: current.oldFingerprint, issuedAt: unixNow))
            } catch {
                note("cannot sign the statement back to the old key: \(error)")
            }
        }
        await registry.setRotation(key: nil, chain: state.chain)
        removeFiles()
        finish(.rolledBack, error: reason)
    }

    func removeFiles() {
        for name in [RotationState.newKeyFileName, RotationState.oldKeyFileName, RotationState.oldHostFileName] {
            unlink(statePath(name))
        }
    }

    func finish(_ result: RotationState.Result, error: String?) {
        guard let current = state.current else { return }
        state.last = .init(id: current.id, result: result, error: error, finishedAt: unixNow)
        state.counts[result.rawValue, default: 0] += 1
        state.current = nil
        registryPrimed = false
        progress = nil
        if result == .failed, let error { logger.error("key rotation failed", metadata: ["id": "\(current.id)", "error": "\(error)"]) }
        metrics.update { $0.results[result, default: 0] += 1 }
        saveOrLog()
    }
}
