import POSIXSupport
/// One accepted socket and its HTTP state; touched only on the event loop thread.
final class Connection {
    enum Phase {
        /// Reading and parsing; no request in flight.
        case reading
        /// A handler is running; input is not read (back-pressure for pipelining).
        case handling
        /// A response is being written.
        case writing
        /// Write side shut down after a closing response; input is discarded until EOF so the
        /// response is not destroyed by an RST.
        case lingering
    }

    enum Deadline {
        case none
        /// A started request (or a fresh connection) must be complete by then.
        case request
        case idle
        case write
        case linger
    }

    /// The request a handler is working on.
    struct InFlight {
        var method: String
        var path: String
        var version: String
        var keepAlive: Bool
        var dispatchedAt: UInt64
    }

    let id: UInt64
    let descriptor: FileDescriptor
    let remoteAddress: String
    /// Accepted above `maxConnections` only to be told 503.
    let isRefusal: Bool
    var parser: HTTPRequestParser
    var phase: Phase = .reading
    var inFlight: InFlight?
    var output: [UInt8] = []
    var outputOffset = 0
    /// Sent after `output`: a response body, kept apart from its head so a big body is never
    /// copied to put the head in front of it.
    var outputNext: [UInt8] = []
    var closeAfterWrite = false
    var lingerAfterWrite = false
    var peerClosed = false
    var isClosed = false
    var deadline: UInt64 = 0
    var deadlineKind: Deadline = .none
    var registeredEvents: UInt32 = 0
    var discardedBytes = 0
    /// Re-entry guard for `EventLoop.processInput` (immediate responses loop instead of recursing).
    var processingInput = false
    var moreInput = false

    init(id: UInt64, descriptor: FileDescriptor, remoteAddress: String, limits: HTTPRequestParser.Limits, isRefusal: Bool) {
        self.id = id
        self.descriptor = descriptor
        self.remoteAddress = remoteAddress
        self.parser = HTTPRequestParser(limits: limits)
        self.isRefusal = isRefusal
    }

    var hasPendingOutput: Bool { outputOffset < output.count || !outputNext.isEmpty }

    /// Queues bytes after everything pending.
    func appendOutput<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if outputNext.isEmpty { output.append(contentsOf: bytes) } else { outputNext.append(contentsOf: bytes) }
    }
}
