#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON of `GET /api/v1/mesh`: the registry's nodes and the edges every node's verified
/// view describes, each edge with both ends' view of it. Pure: built by `merge`.
public struct MeshDocument: Codable, Sendable, Equatable {
    public struct Node: Codable, Sendable, Equatable {
        public var name: String
        /// Holds its `alive/` key.
        public var alive: Bool
        public var overlay: [String]
        /// Whose view drew its edges: `local` (this node, live), `verified`, `unverified`
        /// (refused: its edges are not drawn), `missing`.
        public var view: String
        /// Why the view was refused.
        public var viewProblem: String?

        enum CodingKeys: String, CodingKey {
            case name, alive, overlay, view
            case viewProblem = "view_problem"
        }

        public init(name: String, alive: Bool, overlay: [String], view: String = "missing", viewProblem: String? = nil) {
            self.name = name
            self.alive = alive
            self.overlay = overlay
            self.view = view
            self.viewProblem = viewProblem
        }
    }

    /// One pair of nodes that share a tinc meta connection or a BGP session (in either's view).
    public struct Edge: Codable, Sendable, Equatable {
        /// `a < b`.
        public var a: String
        public var b: String
        /// The worse of both ends' reports: `down`, `relayed`, `direct`, or `unknown` when neither reports.
        public var tinc: String
        /// `Established` when every reported side is; else the first other state; nil without a session.
        public var bgp: String?
        /// What `a` sees of `b`, and `b` of `a` (nil: no verified view, or not listed).
        public var aView: NodeView.Peer?
        public var bView: NodeView.Peer?
        /// One line for people (the map's tooltip).
        public var label: String

        enum CodingKeys: String, CodingKey {
            case a, b, tinc, bgp, label
            case aView = "a_view"
            case bView = "b_view"
        }
    }

    /// This node's BGP sessions with the time each became Established (for uptimes).
    public struct LocalSession: Codable, Sendable, Equatable {
        public var name: String
        public var state: String
        /// Unix seconds; nil while not Established.
        public var establishedAt: Double?

        enum CodingKeys: String, CodingKey {
            case name, state
            case establishedAt = "established_at"
        }
    }

    /// This node's name.
    public var node: String?
    /// Sorted by name.
    public var nodes: [Node]
    /// Sorted by (a, b).
    public var edges: [Edge]
    /// This node's sessions (nil without BIRD).
    public var sessions: [LocalSession]? = nil

    /// Merges the registry's nodes (`registry`), this node's live view (`local`) and the stored
    /// views. Only nodes of the registry (and this node) appear; a view's peers outside it are ignored.
    public static func merge(me: String?, registry: [Node], local: NodeView?,
                             views: [String: Result<NodeView, ViewRefusal>]) -> MeshDocument {
        var nodes = Dictionary(registry.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        if let me, nodes[me] == nil { nodes[me] = Node(name: me, alive: true, overlay: []) }
        var usable: [String: NodeView] = [:]
        for (name, verdict) in views where nodes[name] != nil && name != me {
            switch verdict {
            case .success(let view):
                usable[name] = view
                nodes[name]?.view = "verified"
            case .failure(let refusal):
                nodes[name]?.view = "unverified"
                nodes[name]?.viewProblem = refusal.reason
            }
        }
        if let me, let local {
            usable[me] = local
            nodes[me]?.view = "local"
        }
        var pairs = Set<[String]>()
        for (name, view) in usable {
            for peer in view.peers where peer.name != name && nodes[peer.name] != nil && (peer.tinc == "direct" || peer.bgp != nil) {
                pairs.insert([name, peer.name].sorted())
            }
        }
        let edges = pairs.map { pair -> Edge in
            let a = pair[0], b = pair[1]
            let aView = usable[a]?.peers.first { $0.name == b }
            let bView = usable[b]?.peers.first { $0.name == a }
            let reports = [aView?.tinc, bView?.tinc].compactMap { $0 }
            let tinc = ["down", "relayed", "direct"].first { reports.contains($0) } ?? "unknown"
            let states = [aView?.bgp, bView?.bgp].compactMap { $0 }
            let bgp = states.isEmpty ? nil : states.first { $0 != "Established" } ?? "Established"
            return Edge(a: a, b: b, tinc: tinc, bgp: bgp, aView: aView, bView: bView,
                        label: "\(a) – \(b): tinc \(tinc)" + (bgp.map { ", BGP \($0)" } ?? "")
                            + "; \(a): \(describe(aView)); \(b): \(describe(bView))")
        }
        return MeshDocument(node: me, nodes: nodes.values.sorted { $0.name < $1.name },
                            edges: edges.sorted { ($0.a, $0.b) < ($1.a, $1.b) })
    }

    static func describe(_ peer: NodeView.Peer?) -> String {
        guard let peer else { return "no view" }
        var parts = ["tinc " + (peer.tinc ?? "?"), "BGP " + (peer.bgp ?? "none")]
        if let rtt = peer.rttMs { parts.append("RTT ≤\(Self.number(rtt)) ms") }
        if let loss = peer.loss { parts.append("loss \(Int((loss * 100).rounded()))%") }
        return parts.joined(separator: ", ")
    }

    /// `2`, `0.5`: no trailing `.0`.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// Sorted keys, pretty-printed.
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return ((try? Array(encoder.encode(self))) ?? Array("{}".utf8)) + [0x0A]
    }
}
