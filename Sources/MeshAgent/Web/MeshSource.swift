#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `/api/v1/mesh` and the map read: the registry's nodes and stored views, and this
/// node's own view built live from the samplers (fresher than its copy in etcd).
public struct MeshSource: Sendable {
    public var registry: RegistrySync
    public var sources: MeshStateSources

    public init(registry: RegistrySync, sources: MeshStateSources) {
        self.registry = registry
        self.sources = sources
    }

    /// This node's view now; nil until its name is known.
    public static func localView(_ sources: MeshStateSources) async -> NodeView? {
        var builder = MeshStateBuilder()
        let state = builder.build(await sources.read(), now: .now)
        guard let node = state.node else { return nil }
        return NodeView(state: state, name: node)
    }

    public func document() async -> MeshDocument {
        let local = await Self.localView(sources)
        let (me, nodes) = await registry.mapNodes()
        var document = MeshDocument.merge(me: me, registry: nodes, local: local, views: await registry.verifiedViews())
        if let history = sources.bird?.history.snapshot() {
            document.sessions = history.sessions.map { name, session in
                MeshDocument.LocalSession(name: name, state: session.state.text,
                                          establishedAt: session.establishedAt.map { $0.timeIntervalSince1970.rounded() })
            }.sorted { $0.name < $1.name }
        }
        return document
    }
}
