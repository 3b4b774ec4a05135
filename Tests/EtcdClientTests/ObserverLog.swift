@testable import EtcdClient
import Synchronization

/// Records the observer's calls.
final class ObserverLog: Sendable {
    private let entries = Mutex<[(String, Bool)]>([])

    var observer: EtcdClient.Observer {
        { op, _, success in self.entries.withLock { $0.append((op, success)) } }
    }

    var ops: [String] { entries.withLock { $0.map(\.0) } }
    func count(_ op: String, success: Bool? = nil) -> Int {
        entries.withLock { $0.filter { $0.0 == op && (success == nil || $0.1 == success) }.count }
    }
}
