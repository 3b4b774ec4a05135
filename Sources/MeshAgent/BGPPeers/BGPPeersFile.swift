/// The text of `bird.peers-file`: one `protocol bgp` per peer of a `BGPPeerPlan`, made from the
/// operator's template. Pure and deterministic (same plan, same options, same bytes), so the
/// file is rewritten, and BIRD reconfigured, only when a session really changes.
///
/// Each block follows a `# peer <name>` line and ends with a line holding only `}`: that is how
/// the agent reads its own file back (`blocks(in:)`) to keep the blocks of names on hold.
public enum BGPPeersFile {
    /// The first line of every file the agent writes.
    public static let marker = "# Managed by bgpmesh-agent; do not edit."
    static let peerLinePrefix = "# peer "
    /// The prefix of every generated protocol's name: `bgpmesh_<node name>`.
    public static let protocolPrefix = "bgpmesh_"

    /// What the settings add to every block.
    public struct Options: Sendable, Equatable {
        /// `bird.template`: a BIRD symbol (checked by the settings).
        public var template: String
        /// `bird.rr-cluster-id`: written on this reflector's client sessions.
        public var clusterID: String?
        /// `bird.bfd`.
        public var bfd: Bool
        /// The password as a BIRD string literal (`BGPPeersPassword`), never the raw text.
        public var passwordLiteral: String?
        /// The registry prefix, named in the header.
        public var registryPrefix: String

        public init(template: String = "bgpmesh", clusterID: String? = nil, bfd: Bool = false, passwordLiteral: String? = nil,
                    registryPrefix: String) {
            self.template = template
            self.clusterID = clusterID
            self.bfd = bfd
            self.passwordLiteral = passwordLiteral
            self.registryPrefix = registryPrefix
        }
    }

    /// The protocol name of a peer, or nil when it would not be a BIRD symbol (a node name
    /// longer than 56 bytes: BIRD's symbols hold at most 64).
    public static func protocolName(_ peer: String) -> String? {
        let name = protocolPrefix + peer
        return BIRDSyntax.isSymbol(name) ? name : nil
    }

    /// One peer's block (with its `# peer` line), without a trailing newline.
    static func block(_ peer: BGPPeerPlan.Peer, options: Options) -> String? {
        guard let name = protocolName(peer.name), BIRDSyntax.isSymbol(options.template) else { return nil }
        var lines = [peerLinePrefix + peer.name + (peer.peerIsReflector ? " (route reflector)" : peer.rrClient ? " (route reflector client)" : ""),
                     "protocol bgp \(name) from \(options.template) {",
                     "\tneighbor \(peer.address) as \(peer.asn);"]
        if peer.rrClient {
            lines.append("\trr client;")
            if let clusterID = options.clusterID { lines.append("\trr cluster id \(clusterID);") }
        }
        if options.bfd { lines.append("\tbfd on;") }
        if let password = options.passwordLiteral { lines.append("\tpassword \(password);") }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    /// The whole file. `kept` holds blocks read back from the current file (`blocks(in:)`) that
    /// stay verbatim, whatever the plan says of their name. Blocks are sorted by name. Left out,
    /// so that one record cannot make BIRD refuse the whole file: peers whose name cannot make a
    /// protocol name (`unnamed`), and peers whose AS number BIRD 2.0.12 would refuse
    /// (`unusableAS`): AS 0, and on a reflector a client whose AS number is not `localASN`
    /// (`rr client` is for internal sessions only).
    public static func render(plan: BGPPeerPlan, kept: [String: String] = [:], options: Options, localASN: UInt32? = nil)
        -> (text: String, peers: [String], unnamed: [String], unusableAS: [String]) {
        var blocks = kept
        var unnamed: [String] = []
        var unusableAS: [String] = []
        for peer in plan.peers where kept[peer.name] == nil {
            if peer.asn == 0 || (peer.rrClient && localASN.map { peer.asn != $0 } == true) {
                unusableAS.append(peer.name)
            } else if let text = block(peer, options: options) {
                blocks[peer.name] = text
            } else {
                unnamed.append(peer.name)
            }
        }
        let names = blocks.keys.sorted()
        var text = header(plan: plan, options: options)
        for name in names {
            text += "\n" + blocks[name]! + "\n"
        }
        return (text, names, unnamed, unusableAS)
    }

    static func header(plan: BGPPeerPlan, options: Options) -> String {
        let layout = plan.topology == .full ? "full mesh" : "route reflectors, this node a \(plan.role.rawValue)"
        return """
            \(marker)
            # BGP peers from the etcd registry \(options.registryPrefix) (\(layout)).
            # Each protocol is made from template \(options.template), which bird.conf defines before including this file.

            """
    }

    /// Whether `bytes` begin with the agent's marker line.
    static func hasMarker(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: Array((marker + "\n").utf8))
    }

    /// The blocks of a file the agent wrote, by peer name: each from its `# peer <name>` line to
    /// the next line holding only `}`. Anything else (the header, a block cut short) is skipped.
    public static func blocks(in text: String) -> [String: String] {
        var result: [String: String] = [:]
        var current: (name: String, lines: [Substring])?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(peerLinePrefix) {
                let rest = line.dropFirst(peerLinePrefix.count)
                let name = String(rest.prefix { $0 != " " })
                current = name.isEmpty ? nil : (name, [line])
                continue
            }
            guard var block = current else { continue }
            block.lines.append(line)
            if line == "}" {
                result[block.name] = block.lines.joined(separator: "\n")
                current = nil
            } else {
                current = block
            }
        }
        return result
    }
}
