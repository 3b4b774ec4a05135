import BIRDControl
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// The last `show route count table all`. Counting walks every route, so with a
/// full table it is by far the most expensive command; the sampler refreshes it
/// in the background and scrapes read it from here.
public final class BIRDRouteCountCache: Sendable {
    private let stored = Mutex<(counts: BIRDRouteCount, at: Date)?>(nil)

    public init() {}

    public var value: (counts: BIRDRouteCount, at: Date)? { stored.withLock { $0 } }

    public func store(_ counts: BIRDRouteCount, at: Date) {
        stored.withLock { $0 = (counts, at) }
    }
}
