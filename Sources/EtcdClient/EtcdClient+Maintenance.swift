extension EtcdClient {
    /// Maintenance status of one member: `endpoint` (no failover), or the current endpoint.
    public func status(endpoint: String? = nil) async throws(EtcdError) -> EtcdStatus {
        let fixed = try endpoint.map { (e) throws(EtcdError) in try normalize(e) }
        return try await call(.status, path: "/v3/maintenance/status", body: EtcdWire.encode(WireEmptyRequest()), endpoint: fixed) { reply throws(EtcdError) in
            try reply.decode(.status, EtcdWire.status)
        }
    }

    /// The members of the cluster, as `endpoint` (or the current endpoint) knows them.
    public func memberList(endpoint: String? = nil) async throws(EtcdError) -> EtcdMemberList {
        let fixed = try endpoint.map { (e) throws(EtcdError) in try normalize(e) }
        return try await call(.memberList, path: "/v3/cluster/member/list", body: EtcdWire.encode(WireEmptyRequest()), endpoint: fixed) { reply throws(EtcdError) in
            try reply.decode(.memberList, EtcdWire.memberList)
        }
    }

    /// `GET /health` of one member. An unhealthy member (HTTP 503 `{"health":"false"}`) is a
    /// result, not an error; an unreachable one throws.
    public func health(endpoint: String? = nil) async throws(EtcdError) -> EtcdHealth {
        let fixed = try endpoint.map { (e) throws(EtcdError) in try normalize(e) }
        return try await call(.health, path: "/health", body: nil, endpoint: fixed, acceptStatus: [503]) { reply throws(EtcdError) in
            try reply.decode(.health, EtcdWire.health)
        }
    }

    /// Requests a fresh token now (with `credentials`): checks the credentials at startup.
    /// Without credentials it does nothing. Later calls renew the token by themselves.
    public func authenticate() async throws(EtcdError) {
        guard configuration.credentials != nil else { return }
        let start = ContinuousClock.now
        let deadline = start + configuration.requestTimeout
        let result: Result<String, EtcdError> = await withCheckedContinuation { continuation in
            pool.submit(CurlWorkerPool.Job(
                run: { easy in
                    self.dropToken(self.cachedToken)
                    continuation.resume(returning: self.currentToken(easy: easy, deadline: deadline))
                },
                reject: { continuation.resume(returning: .failure(.shutdown(op: EtcdOperation.auth.rawValue))) }))
        }
        _ = try result.get()
    }

    private func normalize(_ endpoint: String) throws(EtcdError) -> String {
        try Configuration.normalize(endpoint, defaultScheme: configuration.tls == nil ? "http" : "https")
    }
}
