import TincControl

extension RegistrySync {
    /// What the health model needs from the registry, read in one actor turn.
    public struct Health: Sendable {
        public var node: String?
        public var synced: Bool
        public var published: Bool
        /// Every valid record but this node's, with whether it is alive and how its host file is.
        public var peers: [(name: String, alive: Bool, hostFile: MeshState.HostFileState, overlay: [String])]
        /// conf.d/bgpmesh.conf differs from the plan.
        public var connectToDrift: Bool
        public var connectTo: [String]
    }

    /// Compares hosts/ and conf.d/bgpmesh.conf with what the registry says they hold. Files
    /// being written for a registry change are not drift: that write happens in the same turn.
    public func health() -> Health {
        let published = metrics.values.withLock { $0.published }
        return RegistryDrift.health(view: view, me: me, synced: synced, published: published, planned: planned,
                                    settings: settings, files: files)
    }

    /// Repair: writes every host file that differs from its record and/or the planned
    /// ConnectTo file, then HUP + ALRM. Returns how many files it wrote.
    public func repairFiles(hostFiles: Bool, connectTo: Bool) async -> Int {
        guard let me else { return 0 }
        var written = 0
        if hostFiles {
            for (name, record) in view.records where name != me {
                if case .written = installHostFile(record) { written += 1 }
            }
        }
        if connectTo, let planned {
            if writeConnectTo(planned, previous: files.connectTo(inConfD: Self.connectToFile)) { written += 1 }
        }
        if written > 0 { noteChange() }
        await reloadIfPending()
        return written
    }
}

/// Drift: how the files on disk differ from what the registry says they hold. Reads files,
/// changes nothing.
enum RegistryDrift {
    static func health(view: RegistryView, me: TincNodeName?, synced: Bool, published: Bool, planned: [TincNodeName]?,
                       settings: RegistrySync.Settings, files: TincConfigDirectory) -> RegistrySync.Health {
        var peers: [(name: String, alive: Bool, hostFile: MeshState.HostFileState, overlay: [String])] = []
        for (name, record) in view.records where name != me {
            let state: MeshState.HostFileState
            if let bytes = files.hostFileBytes(name) {
                state = bytes.elementsEqual(record.hostFile.utf8) ? .ok : .mismatch
            } else {
                state = .missing
            }
            peers.append((name.rawValue, view.alive.contains(name), state, record.record.overlay.addresses))
        }
        var drift = false
        if let planned {
            let onDisk = files.confDBytes(RegistrySync.connectToFile)
            drift = onDisk.map { !$0.elementsEqual(settings.connectToText(planned).utf8) } ?? true
        }
        return RegistrySync.Health(node: me?.rawValue, synced: synced, published: published, peers: peers.sorted { $0.name < $1.name },
                                   connectToDrift: drift, connectTo: (planned ?? []).map(\.rawValue))
    }
}
