/// Pure decoding of each reply body into the public models; the client calls these, and the
/// tests feed them bodies captured from etcd 3.4.23.
extension EtcdWire {
    static func range(_ body: some Collection<UInt8>) throws(DecodeError) -> EtcdRangeResponse {
        try decode(WireRangeResponse.self, from: body).model
    }

    static func put(_ body: some Collection<UInt8>) throws(DecodeError) -> EtcdPutResponse {
        try decode(WirePutResponse.self, from: body).model
    }

    static func delete(_ body: some Collection<UInt8>) throws(DecodeError) -> EtcdDeleteResponse {
        try decode(WireDeleteResponse.self, from: body).model
    }

    static func txn(_ body: some Collection<UInt8>) throws(DecodeError) -> EtcdTxnResponse {
        try decode(WireTxnResponse.self, from: body).model()
    }

    static func leaseGrant(_ body: some Collection<UInt8>) throws(DecodeError) -> EtcdLease {
        let wire = try decode(WireLeaseResponse.self, from: body)
        guard let id = wire.ID?.value, id != 0 else { throw DecodeError(reason: "lease grant reply without an ID") }
        return EtcdLease(header: wire.header.model, id: id, ttlSeconds: wire.TTL?.value ?? 0)
    }

    /// The keepalive endpoint streams: one `{"result":{...}}` line per request. A lease etcd
    /// does not know comes back with HTTP 200 and no TTL (3.4 omits the 0): ttlSeconds 0.
    static func leaseKeepAlive(_ body: some Collection<UInt8>) throws(DecodeError) -> EtcdLease {
        let line = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).first ?? []
        let wire = try decode(WireStreamLine<WireLeaseResponse>.self, from: line)
        guard let result = wire.result else { throw DecodeError(reason: "keepalive reply without a result") }
        return EtcdLease(header: result.header.model, id: result.ID?.value ?? 0, ttlSeconds: result.TTL?.value ?? 0)
    }

    static func header(_ body: some Collection<UInt8>) throws(DecodeError) -> EtcdResponseHeader {
        try decode(WireHeaderOnly.self, from: body).header.model
    }

    static func status(_ body: some Collection<UInt8>) throws(DecodeError) -> EtcdStatus {
        try decode(WireStatus.self, from: body).model
    }

    static func memberList(_ body: some Collection<UInt8>) throws(DecodeError) -> EtcdMemberList {
        try decode(WireMemberList.self, from: body).model
    }

    static func health(_ body: some Collection<UInt8>) throws(DecodeError) -> EtcdHealth {
        try decode(WireHealth.self, from: body).model()
    }

    static func authenticate(_ body: some Collection<UInt8>) throws(DecodeError) -> String {
        guard let token = try decode(WireAuthenticateResponse.self, from: body).token, !token.isEmpty else {
            throw DecodeError(reason: "authenticate reply without a token")
        }
        return token
    }
}

struct WireHeaderOnly: Decodable {
    var header: WireHeader?
}
