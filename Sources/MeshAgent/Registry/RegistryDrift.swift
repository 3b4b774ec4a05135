import Glibc
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
        /// Files whose last write failed (cleared by the next good write).
        public var writeFailures: [MeshState.FileWriteFailure] = []
    }

    /// Compares hosts/ and conf.d/bgpmesh.conf with what the registry says they hold. Files
    /// being written for a registry change are not drift: that write happens in the same turn.
    public func health() -> Health {
        let published = metrics.values.withLock { $0.published }
        let health = RegistryDrift.health(view: view, me: me, synced: synced, published: published, planned: planned,
                                          settings: settings, files: files, owned: ownedFiles)
        let conflicts = health.peers.filter { $0.hostFile == .conflict }.count
        metrics.update { $0.hostFileConflicts = conflicts }
        var withFailures = health
        withFailures.writeFailures = writeFailures.keys.sorted().compactMap { file in
            let peer = file.hasPrefix("hosts/") ? String(file.dropFirst(6)) : ""
            // A host file whose record went is no longer the agent's to write.
            if !peer.isEmpty, !view.records.keys.contains(where: { $0.rawValue == peer }) { return nil }
            return writeFailures[file].map { MeshState.FileWriteFailure(file: file, peer: peer, error: $0) }
        }
        return withFailures
    }

    /// Repair: writes every host file that differs from its record and/or the planned
    /// ConnectTo file, then HUP + ALRM. Returns how many files it wrote. A host file that is not
    /// the agent's (a conflict) is left as it is, like everywhere else.
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
                       settings: RegistrySync.Settings, files: TincConfigDirectory, owned: OwnedFiles) -> RegistrySync.Health {
        var peers: [(name: String, alive: Bool, hostFile: MeshState.HostFileState, overlay: [String])] = []
        for (name, record) in view.records where name != me {
            let state = hostFileState(onDisk(files, name), owned: owned.owns(name), expected: Array(record.hostFile.utf8))
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

    /// A host file against the record's bytes: right, missing, drifted (the agent's file,
    /// changed behind its back) or a conflict (a file the agent did not write).
    static func hostFileState(_ onDisk: HostFileReconciler.OnDisk, owned: Bool, expected: [UInt8]) -> MeshState.HostFileState {
        if case .bytes(let bytes) = onDisk, bytes == expected { return .ok }
        switch HostFileReconciler.claim(onDisk, owned: owned, expected: expected) {
        case .absent: return .missing
        case .owned: return onDisk == .absent ? .missing : .mismatch
        case .adoptable: return .ok
        case .conflict: return .conflict
        }
    }

    /// What is at `hosts/<name>`: lstat(2) tells a missing file from one that is there but
    /// cannot be read (a FIFO, a directory, a dangling symlink: all exist, and none is the
    /// agent's to replace unless the ledger says it wrote that name).
    static func onDisk(_ files: TincConfigDirectory, _ name: TincNodeName) -> HostFileReconciler.OnDisk {
        var info = stat()
        if lstat(name.hostFilePath(netDirectory: files.path), &info) != 0, errno == ENOENT { return .absent }
        return files.hostFileBytes(name).map { .bytes($0) } ?? .unreadable
    }
}
