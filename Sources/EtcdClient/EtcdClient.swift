import Logging
import Synchronization

/// A client for etcd 3.4's v3 API through its JSON gateway (`/v3/...`), over libcurl.
/// Unary calls run on a few dedicated threads (never Swift's cooperative pool), each with its
/// own curl handle; each watch runs on a thread of its own. Every call has a connect and a
/// total timeout, fails over between endpoints, and renews the auth token when etcd refuses it.
public final class EtcdClient: Sendable {
    /// Called once per call with its operation name (an `EtcdOperation` raw value: range,
    /// put, delete, txn, lease_grant, lease_keepalive, lease_revoke, watch, status,
    /// member_list, health, auth), its duration (failover and token refresh included) and
    /// whether it succeeded. Token requests are reported as `auth` on their own. A watch
    /// reports each connection, from its start until etcd confirms the watch or it fails.
    /// Runs on the client's threads: keep it short and non-blocking.
    public typealias Observer = @Sendable (_ op: String, _ duration: Duration, _ success: Bool) -> Void

    public let configuration: Configuration
    /// The validated endpoints, `scheme://host:port`.
    public let endpoints: [String]
    let logger: Logger
    let observer: Observer?
    let pool: CurlWorkerPool
    /// The index of the endpoint calls try first: the last one that answered.
    private let preferred = Atomic<Int>(0)
    /// The auth token; "" while etcd says auth is not enabled; nil: authenticate first.
    private let token = Mutex<String?>(nil)
    /// Held while a token is requested, so concurrent calls wait for one request.
    private let tokenRefresh = Mutex<Void>(())
    /// Running watches, so that shutdown() can end them; each removes itself when it ends.
    private let watches = Mutex<(nextID: Int, sessions: [Int: EtcdWatchSession], closed: Bool)>((0, [:], false))

    public init(configuration: Configuration, logger: Logger = Logger(label: "bgpmesh.etcd"), observer: Observer? = nil) throws(EtcdError) {
        endpoints = try configuration.validatedEndpoints()
        if let reason = CurlGlobal.loadError { throw .invalidConfiguration(reason) }
        guard let pool = CurlWorkerPool(threads: configuration.threads, name: "etcd-curl") else {
            throw .invalidConfiguration("cannot start the client's threads")
        }
        self.configuration = configuration
        self.pool = pool
        self.observer = observer
        var logger = logger
        logger[metadataKey: "etcd_endpoints"] = .string(endpoints.joined(separator: ","))
        self.logger = logger
    }

    deinit {
        pool.shutdown()
    }

    /// Stops the client's threads once their current call ends; queued and later calls fail
    /// with `.shutdown`, and running watches end by throwing `.shutdown`.
    public func shutdown() {
        pool.shutdown()
        let running = watches.withLock { state -> [EtcdWatchSession] in
            state.closed = true
            defer { state.sessions = [:] }
            return Array(state.sessions.values)
        }
        for session in running { session.cancel(shutdown: true) }
    }

    /// Registers a new watch; nil after shutdown.
    func register(_ session: EtcdWatchSession) -> Int? {
        watches.withLock { state -> Int? in
            guard !state.closed else { return nil }
            state.nextID += 1
            state.sessions[state.nextID] = session
            return state.nextID
        }
    }

    func unregister(_ id: Int) {
        _ = watches.withLock { $0.sessions.removeValue(forKey: id) }
    }

    /// The endpoint the next call tries first.
    public var currentEndpoint: String {
        endpoints[preferred.load(ordering: .relaxed) % endpoints.count]
    }

    // MARK: The async bridge

    /// One reply as received: the endpoint that answered, its HTTP status and body.
    struct Reply {
        var endpoint: String
        var status: Int
        var body: [UInt8]

        func decode<T>(_ op: EtcdOperation, _ decoder: ([UInt8]) throws(EtcdWire.DecodeError) -> T) throws(EtcdError) -> T {
            do {
                return try decoder(body)
            } catch {
                throw .malformed(op: op.rawValue, endpoint: endpoint, reason: error.reason)
            }
        }
    }

    /// Runs one call on a worker thread and reports it to the observer. `responseLimit`
    /// replaces `maxResponseBytes` for this call.
    func call<T: Sendable>(_ op: EtcdOperation, path: String, body: [UInt8]?, endpoint: String? = nil, acceptStatus: Set<Int> = [],
                           responseLimit: Int? = nil,
                           decode: @escaping @Sendable (Reply) throws(EtcdError) -> T) async throws(EtcdError) -> T {
        let start = ContinuousClock.now
        let deadline = start + configuration.requestTimeout
        let result: Result<T, EtcdError> = await withCheckedContinuation { continuation in
            pool.submit(CurlWorkerPool.Job(
                run: { easy in
                    let outcome = self.exchange(op, path: path, body: body, endpoint: endpoint, acceptStatus: acceptStatus,
                                                responseLimit: responseLimit, easy: easy, deadline: deadline)
                    switch outcome {
                    case .success(let reply):
                        do throws(EtcdError) {
                            continuation.resume(returning: .success(try decode(reply)))
                        } catch {
                            continuation.resume(returning: .failure(error))
                        }
                    case .failure(let error):
                        continuation.resume(returning: .failure(error))
                    }
                },
                reject: { continuation.resume(returning: .failure(.shutdown(op: op.rawValue))) }))
        }
        let success = if case .success = result { true } else { false }
        observer?(op.rawValue, start.duration(to: .now), success)
        if case .failure(let error) = result {
            logger.debug("etcd call failed", metadata: ["op": .string(op.rawValue), "error": .string(error.description)])
        }
        return try result.get()
    }

    // MARK: On a client thread

    /// One call: the preferred endpoint first, then the others, until one answers or the
    /// deadline passes. Mutations move on only when the request surely did not reach etcd.
    func exchange(_ op: EtcdOperation, path: String, body: [UInt8]?, endpoint fixed: String?, acceptStatus: Set<Int>,
                  responseLimit: Int? = nil, easy: CurlEasy, deadline: ContinuousClock.Instant) -> Result<Reply, EtcdError> {
        let limit = responseLimit ?? configuration.maxResponseBytes
        let first = preferred.load(ordering: .relaxed)
        let candidates = fixed.map { [$0] } ?? (0..<endpoints.count).map { endpoints[(first + $0) % endpoints.count] }
        var errors: [EtcdError] = []
        var retriedAuth = false
        var index = 0

        func giveUp() -> Result<Reply, EtcdError> {
            .failure(errors.count == 1 ? errors[0] : .unavailable(op: op.rawValue, errors: errors))
        }

        while index < candidates.count {
            let endpoint = candidates[index]
            let attemptStart = ContinuousClock.now
            let remaining = attemptStart.duration(to: deadline)
            guard remaining > .milliseconds(1) else {
                if errors.isEmpty { errors.append(.timeout(op: op.rawValue, endpoint: endpoint, after: configuration.requestTimeout)) }
                return giveUp()
            }

            var usedToken: String?
            if op != .auth, configuration.credentials != nil {
                switch currentToken(easy: easy, deadline: deadline) {
                case .success(let value): usedToken = value
                case .failure(let error): return .failure(error)
                }
            }
            let headers = usedToken.flatMap { $0.isEmpty ? nil : ["Authorization: \($0)"] } ?? []
            let request = CurlRequest(url: endpoint + path, body: body, headers: headers,
                                      connectTimeout: min(configuration.connectTimeout, remaining),
                                      totalTimeout: remaining, tls: configuration.tls)
            let sink = CurlSink(limit: limit)
            if let failure = easy.prepare(request, sink: sink) {
                return .failure(.transport(op: op.rawValue, endpoint: endpoint, curlCode: failure.code, message: failure.message))
            }

            switch easy.finish(easy.perform()) {
            case .failure(let failure):
                if sink.overflowed {
                    return .failure(.tooLarge(op: op.rawValue, endpoint: endpoint, limit: limit))
                }
                let error: EtcdError = failure.isTimeout
                    ? .timeout(op: op.rawValue, endpoint: endpoint, after: attemptStart.duration(to: .now))
                    : .transport(op: op.rawValue, endpoint: endpoint, curlCode: failure.code, message: failure.message)
                errors.append(error)
                // etcd 3.4 quirk: a simple token is "<random>.<raft index>", and etcd waits
                // without a deadline until it has applied that index. A token from an earlier
                // incarnation of the cluster therefore hangs the call: get a fresh one next time.
                if failure.isTimeout, let usedToken, !usedToken.isEmpty { dropToken(usedToken) }
                if failure.requestSent && !op.isIdempotent { return giveUp() }
                moveOn(from: endpoint)
                index += 1

            case .success(let status):
                if (200..<300).contains(status) || acceptStatus.contains(status) {
                    prefer(endpoint)
                    return .success(Reply(endpoint: endpoint, status: status, body: sink.body))
                }
                guard let wire = WireErrorBody.parse(sink.body) else {
                    let text = String(decoding: sink.body.prefix(200), as: UTF8.self)
                    errors.append(.http(op: op.rawValue, endpoint: endpoint, httpStatus: status, body: text))
                    if status >= 500 && op.isIdempotent {
                        moveOn(from: endpoint)
                        index += 1
                        continue
                    }
                    return giveUp()
                }
                let error = EtcdError.server(op: op.rawValue, endpoint: endpoint, httpStatus: status, code: wire.code, message: wire.message)
                if op != .auth, configuration.credentials != nil, !retriedAuth, Self.needsNewToken(wire) {
                    // 401 "invalid auth token" (expired, or issued by a restarted member),
                    // "user name is empty" (auth enabled since), "revision of auth store is old".
                    retriedAuth = true
                    logger.debug("etcd refused the token, authenticating again", metadata: ["op": .string(op.rawValue), "error": .string(wire.message)])
                    dropToken(usedToken)
                    continue
                }
                errors.append(error)
                if wire.code == EtcdGRPCCode.unavailable.rawValue && (op.isIdempotent || wire.message == EtcdServerMessage.noLeader) {
                    moveOn(from: endpoint)
                    index += 1
                    continue
                }
                prefer(endpoint)
                return giveUp()
            }
        }
        return giveUp()
    }

    static func needsNewToken(_ error: WireErrorBody) -> Bool {
        error.code == EtcdGRPCCode.unauthenticated.rawValue
            || error.message == EtcdServerMessage.userEmpty
            || error.message == EtcdServerMessage.authOldRevision
    }

    private func prefer(_ endpoint: String) {
        if let index = endpoints.firstIndex(of: endpoint) { preferred.store(index, ordering: .relaxed) }
    }

    /// After a failure on `endpoint`, the next call starts with the one after it (unless
    /// another call already moved on).
    private func moveOn(from endpoint: String) {
        guard let index = endpoints.firstIndex(of: endpoint) else { return }
        _ = preferred.compareExchange(expected: index, desired: (index + 1) % endpoints.count, ordering: .relaxed)
    }

    // MARK: Auth

    /// The token to send: cached, or requested now (one request at a time for all threads).
    func currentToken(easy: CurlEasy, deadline: ContinuousClock.Instant) -> Result<String, EtcdError> {
        if let cached = token.withLock({ $0 }) { return .success(cached) }
        return tokenRefresh.withLock { _ -> Result<String, EtcdError> in
            if let cached = token.withLock({ $0 }) { return .success(cached) }
            let start = ContinuousClock.now
            let result = authenticate(easy: easy, deadline: deadline)
            let success = if case .success = result { true } else { false }
            observer?(EtcdOperation.auth.rawValue, start.duration(to: .now), success)
            if case .success(let value) = result { token.withLock { $0 = value } }
            return result
        }
    }

    var cachedToken: String? {
        token.withLock { $0 }
    }

    /// Forgets `used` unless another thread has already replaced it.
    func dropToken(_ used: String?) {
        token.withLock { current in
            if current == used { current = nil }
        }
    }

    private func authenticate(easy: CurlEasy, deadline: ContinuousClock.Instant) -> Result<String, EtcdError> {
        guard let credentials = configuration.credentials else { return .success("") }
        let body = EtcdWire.encode(WireAuthenticateRequest(name: credentials.username, password: credentials.password))
        switch exchange(.auth, path: "/v3/auth/authenticate", body: body, endpoint: nil, acceptStatus: [], easy: easy, deadline: deadline) {
        case .success(let reply):
            do throws(EtcdError) {
                let value = try reply.decode(.auth, EtcdWire.authenticate)
                logger.debug("etcd token acquired", metadata: ["endpoint": .string(reply.endpoint)])
                return .success(value)
            } catch {
                return .failure(error)
            }
        case .failure(.server(_, let endpoint, _, _, let message)) where message == EtcdServerMessage.authNotEnabled:
            logger.debug("etcd auth is not enabled; sending no token", metadata: ["endpoint": .string(endpoint)])
            return .success("")
        case .failure(.server(_, let endpoint, _, let code, let message)) where code == EtcdGRPCCode.invalidArgument.rawValue:
            return .failure(.authenticationFailed(endpoint: endpoint, message: message))
        case .failure(let error):
            return .failure(error)
        }
    }
}
