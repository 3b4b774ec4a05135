import EtcdClient
import Logging
import TincControl

/// Watch and view: a paged read of `nodes/` and `alive/` at one revision, then a watch of
/// each from the next revision; every change goes into `RegistryView` and marks what the next
/// reconcile round does. Nothing else under the prefix is read, so junk there costs nothing.
extension RegistrySync {
    /// Keys per range page; a page too large for a reply is asked again with fewer keys.
    static let readPageSize: Int64 = 256

    func watchLoop() async {
        await waitForTrust()
        var backoff = Backoff(base: .milliseconds(500), cap: .seconds(10))
        while !Task.isCancelled {
            do {
                let revision = try await readRegistry()
                backoff.reset()
                if let compactRevision = try await follow(from: revision + 1) {
                    logger.notice("registry watch fell behind a compaction; reading everything again",
                                  metadata: ["compact_revision": "\(compactRevision)"])
                }
            } catch EtcdError.tooLarge("watch", _, let limit) {
                // One reply held more large events than the client takes (etcd sends a watch
                // that catches up up to 1000 revisions at once). Nothing was lost: the view is
                // current up to the last event applied, so it stays synced while both are read again.
                logger.notice("a registry watch reply exceeded the client's limit; reading nodes/ and alive/ again",
                              metadata: ["limit": "\(limit)"])
                metrics.error("watch")
                try? await clock.sleep(for: backoff.next())
            } catch {
                if Task.isCancelled { break }
                markUnsynced(error)
                metrics.error("watch")
                try? await clock.sleep(for: backoff.next())
            }
        }
    }

    /// Reads `nodes/` and `alive/` in pages, both at the revision of the first page, and
    /// resyncs the view from them. Returns that revision.
    func readRegistry() async throws -> Int64 {
        let maxBytes = settings.maxRecordBytes
        var kvs: [EtcdKeyValue] = []
        let nodes = try await etcd.rangePages(.prefix(nodesPrefix), pageSize: Self.readPageSize) { page in
            kvs += page.map { Self.bounded($0, maxBytes: maxBytes) }
        }
        _ = try await etcd.rangePages(.prefix(alivePrefix), pageSize: Self.readPageSize, revision: nodes.revision) { page in
            kvs += page.map { Self.bounded($0, maxBytes: maxBytes) }
        }
        await resync(kvs, revision: nodes.revision)
        return nodes.revision
    }

    /// Watches `nodes/` and `alive/` from `revision` on two streams until one of them is lost
    /// (throws) or falls behind a compaction (returns the compacted revision; nil when a
    /// stream simply ended). Each key's events come in order on its stream; the two
    /// sub-prefixes are independent in the view, so each batch is applied as it arrives.
    private func follow(from revision: Int64) async throws -> Int64? {
        let options = EtcdWatchOptions(startRevision: revision)
        let streams = [etcd.watch(.prefix(nodesPrefix), options: options), etcd.watch(.prefix(alivePrefix), options: options)]
        let maxBytes = settings.maxRecordBytes
        return try await withThrowingTaskGroup(of: Int64?.self) { group in
            for stream in streams {
                group.addTask {
                    for try await update in stream {
                        switch update {
                        case .created, .progress:
                            continue
                        case .events(let events, let revision):
                            let bounded = events.map { EtcdEvent(kind: $0.kind, kv: Self.bounded($0.kv, maxBytes: maxBytes), prevKV: $0.prevKV) }
                            await self.applyEvents(bounded, revision: revision)
                        case .compacted(let compactRevision):
                            return compactRevision
                        }
                    }
                    return nil
                }
            }
            // The first stream to end (compaction, or the task was cancelled) ends both.
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    /// A value longer than any acceptable record keeps only `maxBytes + 1` bytes: it is refused
    /// as oversized either way, and junk under `nodes/` never stays in memory whole.
    static func bounded(_ kv: EtcdKeyValue, maxBytes: Int) -> EtcdKeyValue {
        guard kv.value.count > maxBytes else { return kv }
        var kept = kv
        kept.value = Array(kv.value.prefix(maxBytes + 1))
        return kept
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
            case .repinned(let name, let pin, let old):
                persistPin(name, pin, replacing: old)
                if name != me { hostFiles.rotated(name) }
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
        let keys = view.records.filter { $0.key != me }.map { (peer: $0.key.rawValue, fingerprint: $0.value.key.fingerprintSHA256) }
        var overlays: [String: String] = [:]
        for peer in peerOverlays() { for address in peer.overlay { overlays[address] = peer.name } }
        metrics.update {
            $0.peerOverlays = overlays
            $0.refused = Array(refused)
            $0.peerKeys = keys.sorted { $0.peer < $1.peer }
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
