import Dispatch
import Glibc

/// Turns SIGTERM/SIGINT into an awaitable event. The signals are ignored by
/// the default disposition first, so the dispatch sources see them instead.
public final class SignalWaiter: @unchecked Sendable { // immutable after init; dispatch sources are thread-safe
    private let stream: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    public init(signals: [Int32]) {
        let queue = DispatchQueue(label: "bgpmesh.signals")
        var continuation: AsyncStream<Int32>.Continuation!
        stream = AsyncStream { continuation = $0 }
        let sink = continuation!
        sources = signals.map { number in
            Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { sink.yield(number) }
            source.resume()
            return source
        }
    }

    /// The next signal received.
    public func next() async -> Int32 {
        var iterator = stream.makeAsyncIterator()
        return await iterator.next() ?? SIGTERM
    }
}
