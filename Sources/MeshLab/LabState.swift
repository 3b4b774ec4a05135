import Foundation

/// How tinc host keys and ConnectTo lines reach the nodes.
public enum KeyMode: String, Codable, Sendable, CaseIterable {
    /// The lab copies every host file to every node and writes ConnectTo lines itself.
    case manual
    /// Each node starts with its own key only; the agents distribute keys through etcd.
    case agent

    /// The agents distribute keys (issue 6); `.manual` stays for comparison (bench-keys).
    public static let `default`: KeyMode = .agent
}

/// What a running lab looks like, saved as `<state>/lab.json` so later commands find it.
public struct LabState: Codable, Sendable {
    public var version = 1
    public var nodes: [Int]
    public var keys: KeyMode
    /// nil when the lab runs without agents.
    public var agentBinary: String?
    public var agentExtraArgs: [String]
    public var startedAt: Date
    public var topology: LabTopology
    /// Nodes 1...reflectors are route reflectors (0 with the full mesh).
    public var reflectors: Int
    /// Timers for the lab's size at `up`; an added node gets the same.
    public var timers: LabTimers
    /// Neighbour table sysctls `up` raised, with their values before, for `down` to put back.
    public var neighbourSysctlsBefore: [String: Int]
    /// Indexes of removed nodes: never given out again, because every agent keeps a removed
    /// name pinned to its old key (trust on first use), so a new node under that name would be
    /// refused everywhere.
    public var retired: [Int] = []
    /// Nodes added with `add-node --bare`: the lab made their namespace and empty directories,
    /// `bgpmesh-agent join` (or the Ansible role) wrote their files, `start-node` starts them.
    public var bare: [Int] = []

    public init(nodes: [Int], keys: KeyMode, agentBinary: String?, agentExtraArgs: [String],
                topology: LabTopology = .full, reflectors: Int = 0) {
        self.nodes = nodes
        self.keys = keys
        self.agentBinary = agentBinary
        self.agentExtraArgs = agentExtraArgs
        self.startedAt = Date()
        self.topology = topology
        self.reflectors = topology == .reflectors ? reflectors : 0
        self.timers = LabTimers.forNodes(nodes.count)
        self.neighbourSysctlsBefore = [:]
    }

    enum CodingKeys: String, CodingKey {
        case version, nodes, keys, agentBinary, agentExtraArgs, startedAt, topology, reflectors, timers
        case neighbourSysctlsBefore, retired, bare
    }

    /// Reads state files of earlier labs too (no topology: a full mesh with the small-lab timers).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(Int.self, forKey: .version)
        nodes = try c.decode([Int].self, forKey: .nodes)
        keys = try c.decode(KeyMode.self, forKey: .keys)
        agentBinary = try c.decodeIfPresent(String.self, forKey: .agentBinary)
        agentExtraArgs = try c.decode([String].self, forKey: .agentExtraArgs)
        startedAt = try c.decode(Date.self, forKey: .startedAt)
        topology = try c.decodeIfPresent(LabTopology.self, forKey: .topology) ?? .full
        reflectors = try c.decodeIfPresent(Int.self, forKey: .reflectors) ?? 0
        timers = try c.decodeIfPresent(LabTimers.self, forKey: .timers) ?? LabTimers.forNodes(nodes.count)
        neighbourSysctlsBefore = try c.decodeIfPresent([String: Int].self, forKey: .neighbourSysctlsBefore) ?? [:]
        retired = try c.decodeIfPresent([Int].self, forKey: .retired) ?? []
        bare = try c.decodeIfPresent([Int].self, forKey: .bare) ?? []
    }

    /// The index `add-node` gives out: above every node the lab has or had.
    public var nextIndex: Int { ((nodes + retired).max() ?? 0) + 1 }

    /// True when node `index` is a route reflector.
    public func isReflector(_ index: Int) -> Bool {
        topology == .reflectors && index >= 1 && index <= reflectors
    }

    /// The nodes `node` has BGP sessions with: every other node in a full mesh; with reflectors,
    /// every other node for a reflector and the reflectors for a client.
    public func bgpPeers(of node: NodeSpec, stateDir: String) -> [NodeSpec] {
        specs(stateDir: stateDir).filter { p in
            p.index != node.index && (topology == .full || isReflector(node.index) || isReflector(p.index))
        }
    }

    public func specs(stateDir: String) -> [NodeSpec] {
        nodes.sorted().map { NodeSpec(index: $0, stateDir: stateDir) }
    }

    public func etcdMembers(stateDir: String) -> [NodeSpec] {
        specs(stateDir: stateDir).filter(\.isEtcdMember)
    }

    static func path(_ stateDir: String) -> String { "\(stateDir)/lab.json" }

    public static func load(stateDir: String) throws(LabError) -> LabState {
        let path = path(stateDir)
        guard let data = FileManager.default.contents(atPath: path) else { throw .noLab(stateDir: stateDir) }
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        do { return try dec.decode(LabState.self, from: data) } catch {
            throw .io(path: path, reason: "unreadable lab state (\(error)); run `bgpmesh-lab down`")
        }
    }

    public func save(stateDir: String) throws(LabError) {
        let enc = JSONEncoder()
        enc.dateEncodingStrategy = .iso8601
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            let data = try enc.encode(self)
            try data.write(to: URL(fileURLWithPath: Self.path(stateDir)), options: .atomic)
        } catch {
            throw .io(path: Self.path(stateDir), reason: "\(error)")
        }
    }
}
