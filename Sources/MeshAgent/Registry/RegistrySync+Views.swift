import EtcdClient
import Logging
import Synchronization
import TincControl

/// Where this node's view comes from (set once the repair loop's sources exist).
public final class ViewSource: Sendable {
    private let read = Mutex<(@Sendable () async -> NodeView?)?>(nil)
    public init() {}
    public func set(_ source: @escaping @Sendable () async -> NodeView?) { read.withLock { $0 = source } }
    func current() async -> NodeView? {
        guard let source = read.withLock({ $0 }) else { return nil }
        return await source()
    }
}

/// The values under `views/` as read, and what this node published there.
struct ViewStore: Sendable {
    /// Per name: the stored value (bounded) and its mod revision.
    var raw: [String: (revision: Int64, bytes: [UInt8])] = [:]
    /// Verdicts by name, valid while the revision and the trusted key stay the same.
    var verdicts: [String: (revision: Int64, fingerprint: String?, verdict: Result<NodeView, ViewRefusal>)] = [:]
    var logged: Set<String> = []
    var publishedBytes: [UInt8] = []
    /// The signed value last put: a different value under this node's key is put back.
    var publishedValue: [UInt8] = []
    var publishedLease: Int64?
    var publishedAt: ContinuousClock.Instant?
    var key: TincRSAPrivateKey?
    var lastError: String?
}

/// Views (issue 17): each agent puts a signed summary of what it sees under `views/<name>` on
/// its alive lease, only when it changed and at most every `viewMinInterval`; the watch keeps
/// every node's value, which is verified against the key this node trusts for that name
/// before the map draws it.
extension RegistrySync {
    /// The least time between two puts of this node's view.
    static let viewMinInterval: Duration = .seconds(3)

    nonisolated var viewsPrefix: String { settings.prefix + "views/" }

    func viewPublishLoop() async {
        while !Task.isCancelled {
            try? await clock.sleep(for: .seconds(1))
            await publishViewIfChanged()
        }
    }

    /// One step of the publisher: builds the view and puts it when it differs from the last
    /// put (or the lease is new), no sooner than `viewMinInterval` after the last put.
    func publishViewIfChanged() async {
        guard let me, let lease, aliveClaimed, let view = await settingsView(me) else { return }
        let bytes = view.encoded()
        if bytes == viewStore.publishedBytes, lease == viewStore.publishedLease { return }
        if let last = viewStore.publishedAt, clock.now() - last < Self.viewMinInterval, lease == viewStore.publishedLease { return }
        do {
            let key = try viewKey()
            let value = try SignedView.sign(view, with: key).encoded()
            _ = try await etcd.put(viewsPrefix + me.rawValue, value: value, lease: lease)
            viewStore.publishedBytes = bytes
            viewStore.publishedValue = value
            viewStore.publishedLease = lease
            viewStore.publishedAt = clock.now()
            if viewStore.lastError != nil { logger.info("this node's view is published again") }
            viewStore.lastError = nil
            logger.debug("published this node's view", metadata: ["bytes": "\(value.count)", "peers": "\(view.peers.count)"])
        } catch {
            if viewStore.lastError != "\(error)" {
                logger.warning("cannot publish this node's view", metadata: ["error": "\(error)"])
            }
            viewStore.lastError = "\(error)"
        }
    }

    private func settingsView(_ me: TincNodeName) async -> NodeView? {
        guard var view = await viewSource.current() else { return nil }
        view.name = me.rawValue
        return view
    }

    /// The key that signs this node's record: the rotation's new key while one is published, else the key file.
    private func viewKey() throws -> TincRSAPrivateKey {
        if let key = rotationKey, key.publicKey.fingerprintSHA256 == publishedFingerprint { return key }
        if let key = viewStore.key, key.publicKey.fingerprintSHA256 == publishedFingerprint { return key }
        let key = try TincRSAPrivateKey(contentsOfFile: LocalNode.privateKeyPath(directory: settings.tincDirectory))
        viewStore.key = key
        return key
    }

    func viewWatchLoop() async {
        var backoff = Backoff(base: .milliseconds(500), cap: .seconds(10))
        while !Task.isCancelled {
            do {
                // Kept while reading under the same count limit as storeView's, so a flood of keys
                // costs at most twice registry.max-nodes bounded values, not one per key.
                var kvs: [EtcdKeyValue] = []
                let cap = settings.maxNodes, known = Set(view.records.keys.map(\.rawValue)), prefix = viewsPrefix
                let first = try await etcd.rangePages(.prefix(viewsPrefix), pageSize: Self.readPageSize) { page in
                    for kv in page where kvs.count < cap || (known.contains(String(kv.keyString.dropFirst(prefix.count))) && kvs.count < 2 * cap) {
                        kvs.append(Self.bounded(kv, maxBytes: SignedView.maxBytes))
                    }
                }
                viewStore.raw = [:]
                for kv in kvs { storeView(kv) }
                backoff.reset()
                let stream = etcd.watch(.prefix(viewsPrefix), options: EtcdWatchOptions(startRevision: first.revision + 1))
                watching: for try await update in stream {
                    switch update {
                    case .created, .progress: continue
                    case .compacted: break watching
                    case .events(let events, _):
                        for event in events {
                            if event.kind == .delete {
                                let name = String(event.kv.keyString.dropFirst(viewsPrefix.count))
                                viewStore.raw[name] = nil
                                if name == me?.rawValue { viewStore.publishedBytes = [] }
                            } else {
                                storeView(Self.bounded(event.kv, maxBytes: SignedView.maxBytes))
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { break }
                try? await clock.sleep(for: backoff.next())
            }
        }
    }

    private func storeView(_ kv: EtcdKeyValue) {
        let name = String(kv.keyString.dropFirst(viewsPrefix.count))
        guard TincNodeName(name) != nil else {
            logViewRefusal(name: name, revision: kv.modRevision, ViewRefusal("the key's name is not a tinc node name"))
            return
        }
        // registry.max-nodes views, and past it only names with a trusted record (up to twice the
        // limit): junk keys with valid names cannot push real nodes' views off the map.
        let known = TincNodeName(name).map { view.records[$0] != nil } ?? false
        guard viewStore.raw[name] != nil || viewStore.raw.count < settings.maxNodes
                || (known && viewStore.raw.count < 2 * settings.maxNodes) else {
            logViewRefusal(name: name, revision: kv.modRevision, ViewRefusal("more views than registry.max-nodes (\(settings.maxNodes))"))
            return
        }
        viewStore.raw[name] = (kv.modRevision, kv.value)
        if name == me?.rawValue, kv.value != viewStore.publishedValue {
            // Deleted or overwritten behind this agent's back: put it again at the next step.
            viewStore.publishedBytes = []
        }
    }

    private func logViewRefusal(name: String, revision: Int64, _ refusal: ViewRefusal) {
        guard viewStore.logged.insert("\(revision)\u{0}\(name)").inserted else { return }
        if viewStore.logged.count > 4096 { viewStore.logged.removeAll() }
        logger.warning("node view refused; it is not drawn",
                       metadata: ["key": "\(TincParseError.excerpt(viewsPrefix + name))", "revision": "\(revision)", "reason": "\(refusal)"])
    }

    /// Every stored view, verified against the key of the name's trusted record (cached per
    /// revision and key); refusals are logged once per stored value.
    public func verifiedViews() -> [String: Result<NodeView, ViewRefusal>] {
        var out: [String: Result<NodeView, ViewRefusal>] = [:]
        for (name, stored) in viewStore.raw {
            let key = TincNodeName(name).flatMap { view.records[$0]?.key }
            if let cached = viewStore.verdicts[name], cached.revision == stored.revision, cached.fingerprint == key?.fingerprintSHA256 {
                out[name] = cached.verdict
                continue
            }
            let verdict = SignedView.verify(stored.bytes, name: name, key: key, maxPeers: settings.maxNodes)
            if case .failure(let refusal) = verdict { logViewRefusal(name: name, revision: stored.revision, refusal) }
            viewStore.verdicts[name] = (stored.revision, key?.fingerprintSHA256, verdict)
            out[name] = verdict
        }
        for name in viewStore.verdicts.keys where viewStore.raw[name] == nil { viewStore.verdicts[name] = nil }
        return out
    }

    /// The registry's nodes for the map: name, alive, overlay addresses, this node first marked.
    public func mapNodes() -> (me: String?, nodes: [MeshDocument.Node]) {
        let nodes = view.records.map { name, record in
            MeshDocument.Node(name: name.rawValue, alive: view.alive.contains(name), overlay: record.record.overlay.addresses)
        }
        return (me?.rawValue, nodes.sorted { $0.name < $1.name })
    }
}
