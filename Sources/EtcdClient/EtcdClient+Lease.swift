extension EtcdClient {
    /// Grants a lease of `ttl` (whole seconds, rounded up); `id` 0 lets etcd choose the ID.
    public func leaseGrant(ttl: Duration, id: Int64 = 0) async throws(EtcdError) -> EtcdLease {
        let (seconds, attoseconds) = ttl.components
        let ttlSeconds = max(1, seconds + (attoseconds > 0 ? 1 : 0))
        guard id >= 0 else { throw .invalidArgument(op: EtcdOperation.leaseGrant.rawValue, reason: "negative lease ID") }
        let body = EtcdWire.encode(WireLeaseGrantRequest(TTL: String(ttlSeconds), ID: id != 0 ? String(id) : nil))
        return try await call(.leaseGrant, path: "/v3/lease/grant", body: body) { reply throws(EtcdError) in
            try reply.decode(.leaseGrant, EtcdWire.leaseGrant)
        }
    }

    /// Renews a lease once and returns its new TTL. Throws `.leaseNotFound` if the lease has
    /// expired or was revoked: then grant a new one and put its keys again.
    /// (The gateway's keepalive is a stream; one request gives one reply line, then it closes.)
    public func leaseKeepAlive(_ id: Int64) async throws(EtcdError) -> EtcdLease {
        let body = EtcdWire.encode(WireLeaseIDRequest(ID: String(id)))
        return try await call(.leaseKeepAlive, path: "/v3/lease/keepalive", body: body) { reply throws(EtcdError) in
            if let wire = WireErrorBody.parse(reply.body.split(separator: UInt8(ascii: "\n")).first ?? []) {
                throw .server(op: EtcdOperation.leaseKeepAlive.rawValue, endpoint: reply.endpoint, httpStatus: reply.status, code: wire.code, message: wire.message)
            }
            let lease = try reply.decode(.leaseKeepAlive, EtcdWire.leaseKeepAlive)
            // etcd 3.4: an unknown lease is HTTP 200 with the ID and no TTL (TTL 0 omitted).
            guard lease.ttlSeconds > 0 else { throw .leaseNotFound(id: id) }
            return lease
        }
    }

    /// Revokes a lease and deletes its keys. Throws `.leaseNotFound` if it no longer exists.
    @discardableResult
    public func leaseRevoke(_ id: Int64) async throws(EtcdError) -> EtcdResponseHeader {
        let body = EtcdWire.encode(WireLeaseIDRequest(ID: String(id)))
        do {
            return try await call(.leaseRevoke, path: "/v3/lease/revoke", body: body) { reply throws(EtcdError) in
                try reply.decode(.leaseRevoke, EtcdWire.header)
            }
        } catch let error where error.grpcCode == .notFound && error.serverMessage == EtcdServerMessage.leaseNotFound {
            throw .leaseNotFound(id: id)
        }
    }
}
