import CCurl
import Dispatch
import Logging
import Synchronization

/// One watch: its connection attempts, the stream parsing, and the resume revision. Runs on
/// its own thread with its own easy handle inside a multi handle, so `cancel()` can wake
/// `curl_multi_poll` from any thread and the connection closes at once.
final class EtcdWatchSession: @unchecked Sendable {
    // @unchecked: `cancelled`, `multi` and `wakeup` are thread-safe; every other stored
    // property is touched only by the watch thread (in `run` and the curl callbacks it drives).

    /// How one connection ended.
    enum AttemptEnd {
        /// The consumer went away.
        case cancelled
        /// The resume revision was compacted: yield `.compacted` and finish.
        case compacted(Int64)
        /// Finish the stream with this error.
        case fatal(EtcdError)
        /// Reconnect; with `newToken`, authenticate first (the token was refused).
        case failed(EtcdError, newToken: Bool)
    }

    let client: EtcdClient
    let keys: EtcdKeyRange
    let options: EtcdWatchOptions
    let continuation: EtcdWatchStream.Continuation
    private let cancelled = Atomic<Bool>(false)
    private let closedByClient = Atomic<Bool>(false)
    /// The multi handle's address while it exists (0 otherwise), for `curl_multi_wakeup`.
    private let multi = Mutex<UInt>(0)
    private let wakeup = DispatchSemaphore(value: 0)
    private let logger: Logger

    // Watch thread only.
    /// The revision to resume from: after the last delivered event, or the start revision.
    private(set) var nextRevision: Int64
    private var splitter: EtcdLineSplitter
    private var endpoint = ""
    private var attemptStart = ContinuousClock.now
    private var created = false
    private var httpStatus = 0
    private var errorBody: [UInt8] = []
    private var stop: AttemptEnd?
    private var attemptToken: String?
    private weak var currentEasy: CurlEasy?

    init(client: EtcdClient, keys: EtcdKeyRange, options: EtcdWatchOptions, continuation: EtcdWatchStream.Continuation) {
        self.client = client
        self.keys = keys
        self.options = options
        self.continuation = continuation
        self.nextRevision = options.startRevision
        self.splitter = EtcdLineSplitter(maxLineBytes: client.watchLineLimit)
        var logger = client.logger
        logger[metadataKey: "watch_key"] = .string(keys.firstKey)
        self.logger = logger
    }

    /// Any thread: stop the watch now; with `shutdown`, the stream throws `.shutdown`.
    func cancel(shutdown: Bool = false) {
        if shutdown { closedByClient.store(true, ordering: .relaxed) }
        cancelled.store(true, ordering: .relaxed)
        multi.withLock { address in
            if let handle = UnsafeMutableRawPointer(bitPattern: address) { _ = bgpmesh_curl_multi_wakeup(handle) }
        }
        wakeup.signal()
    }

    private var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    // MARK: Watch thread

    func run() {
        let configuration = client.configuration
        guard let easy = CurlEasy(), let handle = bgpmesh_curl_multi_init() else {
            continuation.finish(throwing: EtcdError.transport(op: EtcdOperation.watch.rawValue, endpoint: client.currentEndpoint, curlCode: 0,
                                                              message: "cannot create curl handles"))
            return
        }
        let address = UInt(bitPattern: handle)
        multi.withLock { $0 = address }
        defer {
            multi.withLock { $0 = 0 }
            bgpmesh_curl_multi_cleanup(handle)
        }

        var endpointIndex = client.endpoints.firstIndex(of: client.currentEndpoint) ?? 0
        var failures: [EtcdError] = []
        var backoff = Backoff(base: configuration.watchBackoff, cap: configuration.watchBackoffMax)
        while !isCancelled {
            endpoint = client.endpoints[endpointIndex % client.endpoints.count]
            switch attempt(easy: easy, multi: handle) {
            case .cancelled:
                finishCancelled()
                return
            case .compacted(let revision):
                logger.info("etcd watch revision was compacted; the caller must resync",
                            metadata: ["endpoint": .string(endpoint), "compact_revision": .stringConvertible(revision), "resume_revision": .stringConvertible(nextRevision)])
                continuation.yield(.compacted(compactRevision: revision))
                continuation.finish()
                return
            case .fatal(let error):
                continuation.finish(throwing: error)
                return
            case .failed(let error, let newToken):
                if created {
                    failures.removeAll()
                    backoff.reset()
                }
                failures.append(error)
                if failures.count >= configuration.watchRetryLimit {
                    continuation.finish(throwing: failures.count == 1 ? error : EtcdError.unavailable(op: EtcdOperation.watch.rawValue, errors: failures))
                    return
                }
                logger.debug("etcd watch connection ended, reconnecting",
                             metadata: ["endpoint": .string(endpoint), "error": .string(error.description), "resume_revision": .stringConvertible(nextRevision)])
                if newToken && failures.count == 1 { continue }  // same endpoint, at once
                endpointIndex += 1
                _ = wakeup.wait(timeout: .now() + .milliseconds(CurlEasy.milliseconds(backoff.next())))
            }
        }
        finishCancelled()
    }

    private func finishCancelled() {
        if closedByClient.load(ordering: .relaxed) {
            continuation.finish(throwing: EtcdError.shutdown(op: EtcdOperation.watch.rawValue))
        } else {
            continuation.finish()
        }
    }

    /// One connection, from the token to the end of the stream.
    private func attempt(easy: CurlEasy, multi handle: UnsafeMutableRawPointer) -> AttemptEnd {
        let configuration = client.configuration
        attemptStart = .now
        created = false
        httpStatus = 0
        errorBody = []
        stop = nil
        splitter = EtcdLineSplitter(maxLineBytes: client.watchLineLimit)

        var usedToken: String?
        attemptToken = nil
        if configuration.credentials != nil {
            switch client.currentToken(easy: easy, deadline: attemptStart + configuration.requestTimeout) {
            case .success(let value): usedToken = value
            case .failure(let error):
                if case .authenticationFailed = error { return .fatal(error) }
                return .failed(error, newToken: false)
            }
        }
        if isCancelled { return .cancelled }

        let body = EtcdWire.encode(WireWatchRequest(keys, startRevision: nextRevision, options: options))
        attemptToken = usedToken
        // clientv3's WithRequireLeader, through the gateway's Grpc-Metadata- prefix: a member
        // that loses its leader ends the stream ("etcdserver: no leader") instead of going
        // silent, so the watch moves to a member that still has a quorum.
        var headers = ["Grpc-Metadata-Hasleader: true"]
        if let usedToken, !usedToken.isEmpty { headers.append("Authorization: \(usedToken)") }
        let request = CurlRequest(url: endpoint + "/v3/watch", body: body, headers: headers,
                                  connectTimeout: min(configuration.connectTimeout, configuration.requestTimeout),
                                  totalTimeout: nil, tls: configuration.tls)
        let sink = CurlSink(limit: configuration.maxResponseBytes)
        sink.onChunk = { [unowned self] chunk in self.receive(chunk) }
        currentEasy = easy
        if let failure = easy.prepare(request, sink: sink) {
            return .fatal(.transport(op: EtcdOperation.watch.rawValue, endpoint: endpoint, curlCode: failure.code, message: failure.message))
        }
        guard bgpmesh_curl_multi_add_handle(handle, easy.handle) == CURLM_OK else {
            return .fatal(.transport(op: EtcdOperation.watch.rawValue, endpoint: endpoint, curlCode: 0, message: "curl_multi_add_handle failed"))
        }
        defer { _ = bgpmesh_curl_multi_remove_handle(handle, easy.handle) }

        let establishDeadline = attemptStart + configuration.requestTimeout
        var done: CURLcode?
        while done == nil {
            var running: Int32 = 0
            let status = bgpmesh_curl_multi_perform(handle, &running)
            guard status == CURLM_OK else {
                return finishAttempt(.failed(.transport(op: EtcdOperation.watch.rawValue, endpoint: endpoint, curlCode: Int(status.rawValue),
                                                        message: String(cString: bgpmesh_curl_multi_strerror(status))), newToken: false))
            }
            var queued: Int32 = 0
            while let message = bgpmesh_curl_multi_info_read(handle, &queued) {
                if message.pointee.msg == CURLMSG_DONE { done = message.pointee.data.result }
            }
            if let stop { return finishAttempt(stop) }
            if isCancelled { return .cancelled }
            if done != nil { break }
            let now = ContinuousClock.now
            if !created && now >= establishDeadline {
                return finishAttempt(.failed(.timeout(op: EtcdOperation.watch.rawValue, endpoint: endpoint, after: configuration.requestTimeout), newToken: false))
            }
            let wait = created ? 1000 : min(1000, CurlEasy.milliseconds(now.duration(to: establishDeadline)))
            _ = bgpmesh_curl_multi_poll(handle, nil, 0, Int32(wait), nil)
        }
        guard let code = done else { return .cancelled }

        switch easy.finish(code) {
        case .failure(let failure):
            if sink.overflowed { return finishAttempt(.fatal(.tooLarge(op: EtcdOperation.watch.rawValue, endpoint: endpoint, limit: configuration.maxResponseBytes))) }
            let error: EtcdError = failure.isTimeout
                ? .timeout(op: EtcdOperation.watch.rawValue, endpoint: endpoint, after: attemptStart.duration(to: .now))
                : .transport(op: EtcdOperation.watch.rawValue, endpoint: endpoint, curlCode: failure.code, message: failure.message)
            if failure.isTimeout, let usedToken, !usedToken.isEmpty, !created { client.dropToken(usedToken) }
            return finishAttempt(.failed(error, newToken: false))
        case .success(let status) where status != 200:
            if let wire = WireErrorBody.parse(errorBody) {
                let error = EtcdError.server(op: EtcdOperation.watch.rawValue, endpoint: endpoint, httpStatus: status, code: wire.code, message: wire.message)
                if EtcdClient.needsNewToken(wire) { return finishAttempt(.failed(error, newToken: true)) }
                return finishAttempt(status >= 500 ? .failed(error, newToken: false) : .fatal(error))
            }
            let text = String(decoding: errorBody.prefix(200), as: UTF8.self)
            return finishAttempt(.failed(.http(op: EtcdOperation.watch.rawValue, endpoint: endpoint, httpStatus: status, body: text), newToken: false))
        case .success:
            if let stop { return finishAttempt(stop) }
            return finishAttempt(.failed(.transport(op: EtcdOperation.watch.rawValue, endpoint: endpoint, curlCode: 0,
                                                    message: "etcd closed the watch stream"), newToken: false))
        }
    }

    /// Reports a connection that failed before etcd confirmed the watch, and drops a refused token.
    private func finishAttempt(_ end: AttemptEnd) -> AttemptEnd {
        if !created, case .failed = end {
            client.observer?(EtcdOperation.watch.rawValue, attemptStart.duration(to: .now), false)
        } else if !created, case .fatal = end {
            client.observer?(EtcdOperation.watch.rawValue, attemptStart.duration(to: .now), false)
        }
        if case .failed(_, true) = end { client.dropToken(attemptToken) }
        return end
    }

    /// A chunk of the reply, from inside curl_multi_perform. False stops the transfer.
    private func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        if httpStatus == 0 { httpStatus = currentEasy?.responseCode ?? 200 }
        guard httpStatus == 200 else {
            errorBody.append(contentsOf: chunk.prefix(max(0, 65536 - errorBody.count)))
            return true
        }
        let lines: [[UInt8]]
        do {
            lines = try splitter.append(chunk)
        } catch {
            stop = .fatal(.tooLarge(op: EtcdOperation.watch.rawValue, endpoint: endpoint, limit: error.limit))
            return false
        }
        for line in lines {
            if let end = handle(line: line) {
                stop = end
                return false
            }
        }
        return !isCancelled
    }

    /// One line of the stream; a non-nil result ends the connection.
    func handle(line: [UInt8]) -> AttemptEnd? {
        let op = EtcdOperation.watch.rawValue
        switch EtcdWatchLine.parse(line) {
        case .failure(let reason):
            return .failed(.malformed(op: op, endpoint: endpoint, reason: reason.reason), newToken: false)
        case .success(.error(let code, let message)):
            let error = EtcdError.server(op: op, endpoint: endpoint, httpStatus: httpStatus, code: code, message: message)
            if code == EtcdGRPCCode.unauthenticated.rawValue { return .failed(error, newToken: true) }
            return code == EtcdGRPCCode.unavailable.rawValue ? .failed(error, newToken: false) : .fatal(error)
        case .success(.compacted(let revision)):
            return .compacted(revision)
        case .success(.canceled(let reason)):
            let error = EtcdError.watchCanceled(endpoint: endpoint, reason: reason)
            // etcd 3.4 cancels a watch whose token it refuses, in a 200 stream:
            // "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token".
            if reason.contains("code = Unauthenticated") { return .failed(error, newToken: true) }
            if reason.isEmpty { return .failed(error, newToken: false) }
            return .fatal(error)
        case .success(.created(let revision)):
            created = true
            client.observer?(op, attemptStart.duration(to: .now), true)
            // Without a start revision the watch begins after the store revision in the header.
            if nextRevision == 0 { nextRevision = revision + 1 }
            continuation.yield(.created(revision: revision))
        case .success(.events(let events, let revision)):
            if let last = events.last { nextRevision = last.kv.modRevision + 1 }
            continuation.yield(.events(events, revision: revision))
        case .success(.progress(let revision)):
            nextRevision = max(nextRevision, revision + 1)
            continuation.yield(.progress(revision: revision))
        }
        return nil
    }
}

/// One line of a watch stream, decoded (pure; the tests feed it captured streams).
enum EtcdWatchLine: Equatable {
    case created(revision: Int64)
    case events([EtcdEvent], revision: Int64)
    case progress(revision: Int64)
    /// canceled with a compact_revision.
    case compacted(Int64)
    /// canceled for another reason ("" when etcd gave none).
    case canceled(reason: String)
    /// `{"error","message","code"}` instead of a result: the request was refused.
    case error(code: Int, message: String)

    static func parse(_ line: [UInt8]) -> Result<EtcdWatchLine, EtcdWire.DecodeError> {
        do throws(EtcdWire.DecodeError) {
            let wire = try EtcdWire.decode(WireStreamLine<WireWatchResponse>.self, from: line)
            guard let result = wire.result else {
                if let error = WireErrorBody.parse(line) { return .success(.error(code: error.code, message: error.message)) }
                throw EtcdWire.DecodeError(reason: "watch line has neither a result nor an error")
            }
            let revision = result.header?.revision?.value ?? 0
            if result.canceled == true {
                // Compaction: {"canceled":true,"compact_revision":"N"}, and a header without revision.
                if let compact = result.compact_revision?.value, compact > 0 { return .success(.compacted(compact)) }
                return .success(.canceled(reason: result.cancel_reason ?? ""))
            }
            if result.created == true { return .success(.created(revision: revision)) }
            let events = try result.modelEvents()
            return .success(events.isEmpty ? .progress(revision: revision) : .events(events, revision: revision))
        } catch {
            return .failure(error)
        }
    }
}
