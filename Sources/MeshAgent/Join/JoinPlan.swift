/// One thing `join` sees to: a directory, a file, the key pair or the persistent interface.
public struct JoinItem: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case directory(mode: UInt32)
        case file(content: String, mode: UInt32)
        /// rsa_key.priv (mode 600) and the public key in the host file.
        case keyPair(bits: Int)
        /// The tun/tap device tincd attaches to, made before tincd starts so it outlives tincd.
        case interface(name: String, tap: Bool)
    }

    public var path: String
    public var kind: Kind
    /// What the report calls it (`tinc.conf`, `BIRD template stanza`...).
    public var label: String
}

/// What `join` does, in order: a pure function of the request, so `--dry-run` and the unit
/// tests see exactly the list the real run works through.
public enum JoinPlan {
    public static func items(_ s: JoinSpec, createInterface: Bool) -> [JoinItem] {
        var items: [JoinItem] = [
            .init(path: s.tincDir, kind: .directory(mode: 0o755), label: "tinc net directory"),
            .init(path: s.tincDir + "/hosts", kind: .directory(mode: 0o755), label: "tinc hosts directory"),
            .init(path: s.tincDir + "/conf.d", kind: .directory(mode: 0o755), label: "tinc conf.d (the agent's ConnectTo lines)"),
            .init(path: s.tincDir + "/tinc.conf", kind: .file(content: JoinTemplates.tincConf(s), mode: 0o644), label: "tinc.conf"),
            .init(path: s.hostFile, kind: .file(content: JoinTemplates.hostFile(s), mode: 0o644), label: "host file (Address, Port, Subnet)"),
            .init(path: s.privateKeyFile, kind: .keyPair(bits: s.keyBits), label: "RSA key pair"),
            .init(path: s.tincDir + "/tinc-up", kind: .file(content: JoinTemplates.tincUp(s), mode: 0o755), label: "tinc-up"),
            .init(path: s.tincDir + "/tinc-down", kind: .file(content: JoinTemplates.tincDown(s), mode: 0o755), label: "tinc-down"),
        ]
        if createInterface {
            items.append(.init(path: s.interface, kind: .interface(name: s.interface, tap: true), label: "persistent tap interface"))
        }
        items += [
            .init(path: JoinRequest.directory(of: s.birdConf), kind: .directory(mode: 0o755), label: "BIRD directory"),
            .init(path: s.birdTemplateFile, kind: .file(content: JoinTemplates.birdTemplate(s), mode: 0o644), label: "BIRD template stanza"),
            // Empty: BIRD refuses a missing include; the agent takes an empty file over (docs/bird-peers.md).
            .init(path: s.birdPeersFile, kind: .file(content: "", mode: 0o644), label: "BIRD peers include (the agent fills it)"),
            .init(path: s.birdConf, kind: .file(content: JoinTemplates.birdConf(s), mode: 0o644), label: "bird.conf"),
            .init(path: s.stateDir, kind: .directory(mode: 0o700), label: "agent state directory"),
            .init(path: JoinRequest.directory(of: s.configFile), kind: .directory(mode: 0o755), label: "agent config directory"),
            .init(path: s.configFile, kind: .file(content: JoinTemplates.agentConfig(s), mode: 0o644), label: "agent config"),
        ]
        return items
    }
}
