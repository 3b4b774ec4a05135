import EtcdClient
import Logging
import TincControl

/// Watch and view: a full range of the prefix, then a watch from the next revision; every
/// change goes into `RegistryView` and marks what the next reconcile round does.
extension RegistrySync {
    func watchLoop() async {
        await waitForTrust()
        var backoff = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                let range = try await etcd.range(.prefix(settings.prefix))
                await resync(range.kvs, revision: range.header.revision)
                backoff = .milliseconds(500)
                let stream = etcd.watch(.prefix(settings.prefix), options: EtcdWatchOptions(startRevision: range.header.revision + 1))
                watching: for try await update in stream {
                    switch update {
                    case .created, .progress:
                        continue
                    case .events(let events, let revision):
                        await applyEvents(events, revision: revision)
                    case .compacted(let compactRevision):
                        logger.notice("registry watch fell behind a compaction; reading everything again",
                                      metadata: ["compact_revision": "\(compactRevision)"])
                        break watching
                    }
                }
            } catch {
                if Task.isCancelled { break }
                markUnsynced(error)
                metrics.error("watch")
                try? await clock.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
    }

    func resync(_ kvs: [EtcdKeyValue], revision: Int64) async {
        let changes = view.reset(kvs, revision: revision, now: unixNow)
        hostFiles.resynced(view.records.keys)
        let wasSynced = synced
        synced = true
        etcdRecovered()
        logger.info(wasSynced ? "registry re-read" : "registry in sync",
                    metadata: ["revision": "\(revision)", "nodes": "\(view.records.count)", "alive": "\(view.alive.count)"])
        handle(changes)
        await reconcile()
    }

    private func applyEvents(_ events: [EtcdEvent], revision: Int64) async {
        let changes = view.apply(events, revision: revision, now: unixNow)
        handle(changes)
        if !changes.isEmpty { await reconcile() }
        metrics.update { $0.revision = view.revision }
    }

    private func handle(_ changes: [RegistryView.Change]) {
        let now = clock.now()
        for change in changes {
            switch change {
            case .rejected(let key, let revision, let reason):
                if let me, key == nodesPrefix + me.rawValue { needsPublish = true }
                // One line and one count per stored version: a re-read does not count it again.
                guard seenRejections.insert("\(revision)\u{0}\(key)").inserted else { continue }
                if seenRejections.count > 4096 { seenRejections.removeAll() }
                metrics.update { $0.rejected[reason, default: 0] += 1 }
                var metadata: Logger.Metadata = ["key": "\(TincParseError.excerpt(key))", "reason": "\(reason.rawValue)", "revision": "\(revision)"]
                let name = RegistryRecordCheck.name(fromKey: key, prefix: nodesPrefix)
                if let name, let detail = view.refused[name]?.detail { metadata["detail"] = "\(detail)" }
                if let name, view.records[name] != nil { metadata["kept"] = "the last trusted record" }
                logger.warning("registry record refused; no file changed", metadata: metadata)
            case .pinned(let name, let pin):
                persistPin(name, pin)
            case .removed(let name):
                if name == me {
                    needsPublish = true
                    logger.warning("this node's record was deleted from etcd; publishing it again")
                    continue
                }
                hostFiles.removed(name, at: now)
                logger.notice("node decommissioned (its record was deleted); its host file goes if the record stays gone",
                              metadata: ["peer": "\(name)", "hold": "\(DurationSyntax.format(settings.removalHold))"])
            case .added(let name):
                hostFiles.added(name)
                logger.info("node record added", metadata: ["peer": "\(name)"])
            case .updated(let name, let keyChanged):
                hostFiles.updated(name)
                if name == me { needsPublish = true }
                logger.info("node record updated", metadata: ["peer": "\(name)", "key_changed": "\(keyChanged)"])
            case .becameAlive(let name):
                logger.debug("node alive", metadata: ["peer": "\(name)"])
            case .becameDead(let name):
                if name == me {
                    // Deleted by hand, or expired while etcd could not be reached: claim it again.
                    aliveClaimed = false
                    continue
                }
                logger.info("node no longer alive", metadata: ["peer": "\(name)"])
            }
        }
        let counts = view.counts
        let refused = view.refused.sorted { $0.key < $1.key }.prefix(RegistryMetrics.maxRefusedSeries).map { ($0.key.rawValue, $0.value.reason) }
        metrics.update {
            $0.refused = Array(refused)
            $0.nodesAlive = counts.alive
            $0.nodesDead = counts.dead
            $0.revision = view.revision
            $0.synced = synced
        }
    }

    private func markUnsynced(_ error: any Error) {
        if synced {
            logger.warning("registry not current; keeping every tinc file as it is until etcd answers again",
                           metadata: ["error": "\(error)"])
        }
        synced = false
        metrics.update { $0.synced = false }
        etcdFailed(error)
    }
}
