import Foundation

extension Lab {
    /// Runs etcdctl against the lab's etcd cluster from the first node's namespace. With
    /// `stdinFile`, etcdctl reads the value of a `put` from that file (values too large for argv).
    public func etcdctl(_ arguments: [String], stdinFile: String? = nil, timeout: Double = 15) throws(LabError) -> CommandResult {
        let state = try LabState.load(stateDir: stateDir)
        let members = state.etcdMembers(stateDir: stateDir)
        guard let first = state.specs(stateDir: stateDir).first else { throw .invalidArgument("the lab has no nodes") }
        var argv = ["etcdctl", "--endpoints", LabTemplates.etcdEndpoints(members: members),
                    "--dial-timeout", "2s", "--command-timeout", "5s"] + arguments
        if let stdinFile {
            // `ip netns exec` passes stdin through; a shell gives the redirect.
            argv = ["sh", "-c", argv.map(Self.shellQuote).joined(separator: " ") + " < " + Self.shellQuote(stdinFile)]
        }
        return try Netns.exec(first.namespace, argv, timeout: timeout)
    }

    /// Deletes `nodes/<name>` (decommissioning; the agents then remove the node everywhere).
    func deleteRegistryRecord(_ n: NodeSpec, state: LabState) throws(LabError) {
        let r = try etcdctl(["del", LabNames.registryPrefix + "nodes/" + n.name])
        guard r.succeeded else {
            throw .commandFailed(command: "etcdctl del \(LabNames.registryPrefix)nodes/\(n.name)", status: r.status, stderr: r.stderr)
        }
    }

    static func shellQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
