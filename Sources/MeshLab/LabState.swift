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

    public init(nodes: [Int], keys: KeyMode, agentBinary: String?, agentExtraArgs: [String]) {
        self.nodes = nodes
        self.keys = keys
        self.agentBinary = agentBinary
        self.agentExtraArgs = agentExtraArgs
        self.startedAt = Date()
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
