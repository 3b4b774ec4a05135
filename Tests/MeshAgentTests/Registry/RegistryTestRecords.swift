import EtcdClient
@testable import MeshAgent
import TincControl

/// Registry views built from the fixture records (real `tincd -K` keys), for the pure pieces' tests.
enum RegistryTestRecords {
    static let prefix = "/bgpmesh/test/"

    static func name(_ text: String) -> TincNodeName { TincNodeName(text)! }

    static func put(_ node: String) throws -> EtcdKeyValue {
        EtcdKeyValue(key: Array((prefix + "nodes/" + node).utf8), value: try RegistryRecordCheckTests.record(node).encoded())
    }

    static func alive(_ node: String) -> EtcdKeyValue {
        EtcdKeyValue(key: Array((prefix + "alive/" + node).utf8), value: Array("0.1.0".utf8), lease: 7)
    }

    /// A view holding a record for each of `nodes`, with `alive` of them holding their alive key.
    static func view(_ nodes: [String], alive: [String] = []) throws -> RegistryView {
        var view = RegistryView(prefix: prefix, maxRecordBytes: 64 << 10)
        _ = view.reset(try nodes.map(put) + alive.map(Self.alive), revision: 10)
        return view
    }
}
