#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON of etcd 3.4's /v3 gateway (grpc-gateway with jsonpb, OrigName): int64 and uint64
/// travel as strings, bytes as padded base64, and every zero value is omitted, so every
/// field here is optional and reads as zero when absent.
enum EtcdWire {
    struct DecodeError: Error, Equatable {
        var reason: String
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws(DecodeError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw DecodeError(reason: describe(error))
        } catch {
            throw DecodeError(reason: "\(error)")
        }
    }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Only strings, bools and arrays of them: encoding cannot fail.
        return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
    }

    static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let text = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return text.isEmpty ? "the top level" : text
        }
        switch error {
        case .dataCorrupted(let context): return "\(context.debugDescription) at \(path(context))"
        case .keyNotFound(let key, let context): return "missing \(key.stringValue) at \(path(context))"
        case .typeMismatch(let type, let context): return "expected \(type) at \(path(context))"
        case .valueNotFound(let type, let context): return "null where \(type) belongs at \(path(context))"
        @unknown default: return "\(error)"
        }
    }
}

// MARK: Scalars

/// An int64: a JSON string (as jsonpb writes it) or a number.
struct WireInt64: Decodable, Equatable {
    var value: Int64

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = Int64(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text.debugDescription) is not an int64")
            }
            self.value = value
        } else {
            value = try container.decode(Int64.self)
        }
    }
}

/// A uint64 (cluster, member and raft fields): a JSON string or a number.
struct WireUInt64: Decodable, Equatable {
    var value: UInt64

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = UInt64(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text.debugDescription) is not a uint64")
            }
            self.value = value
        } else {
            value = try container.decode(UInt64.self)
        }
    }
}

/// Bytes as base64. etcd writes the padding; input without it is accepted too.
struct WireBytes: Decodable, Equatable {
    var bytes: [UInt8]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        var padded = text
        if padded.utf8.count % 4 != 0 { padded += String(repeating: "=", count: 4 - padded.utf8.count % 4) }
        guard let data = Data(base64Encoded: padded) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text.prefix(40).debugDescription) is not base64")
        }
        bytes = Array(data)
    }
}

// MARK: Replies

/// `{"error","message","code"}`, etcd's error body; `code` is the gRPC code. A streaming reply
/// may instead carry `{"error":{"grpc_code","http_code","message","http_status"}}`.
struct WireErrorBody: Decodable, Equatable {
    var code: Int
    var message: String

    private enum Keys: String, CodingKey {
        case error, message, code
    }

    private struct Nested: Decodable {
        var grpc_code: Int?
        var message: String?
    }

    init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        if let nested = try? container.decode(Nested.self, forKey: .error) {
            code = nested.grpc_code ?? 2
            message = nested.message ?? ""
            return
        }
        let error = try container.decodeIfPresent(String.self, forKey: .error)
        let message = try container.decodeIfPresent(String.self, forKey: .message)
        guard let code = try container.decodeIfPresent(Int.self, forKey: .code), error != nil || message != nil else {
            throw DecodingError.keyNotFound(Keys.code, .init(codingPath: [], debugDescription: "not an error body"))
        }
        self.code = code
        self.message = message ?? error ?? ""
    }

    /// The error body in `bytes`, or nil if they hold something else.
    static func parse(_ bytes: some Collection<UInt8>) -> WireErrorBody? {
        try? EtcdWire.decode(WireErrorBody.self, from: bytes)
    }
}

struct WireHeader: Decodable {
    var cluster_id: WireUInt64?
    var member_id: WireUInt64?
    var revision: WireInt64?
    var raft_term: WireUInt64?

    var model: EtcdResponseHeader {
        EtcdResponseHeader(clusterID: cluster_id?.value ?? 0, memberID: member_id?.value ?? 0,
                           revision: revision?.value ?? 0, raftTerm: raft_term?.value ?? 0)
    }
}

extension Optional where Wrapped == WireHeader {
    var model: EtcdResponseHeader { self?.model ?? EtcdResponseHeader() }
}

struct WireKeyValue: Decodable {
    var key: WireBytes?
    var create_revision: WireInt64?
    var mod_revision: WireInt64?
    var version: WireInt64?
    var value: WireBytes?
    var lease: WireInt64?

    var model: EtcdKeyValue {
        EtcdKeyValue(key: key?.bytes ?? [], value: value?.bytes ?? [], createRevision: create_revision?.value ?? 0,
                     modRevision: mod_revision?.value ?? 0, version: version?.value ?? 0, lease: lease?.value ?? 0)
    }
}

struct WireRangeResponse: Decodable {
    var header: WireHeader?
    var kvs: [WireKeyValue]?
    var more: Bool?
    var count: WireInt64?

    var model: EtcdRangeResponse {
        EtcdRangeResponse(header: header.model, kvs: (kvs ?? []).map(\.model), more: more ?? false, count: count?.value ?? 0)
    }
}

struct WirePutResponse: Decodable {
    var header: WireHeader?
    var prev_kv: WireKeyValue?

    var model: EtcdPutResponse {
        EtcdPutResponse(header: header.model, prevKV: prev_kv?.model)
    }
}

struct WireDeleteResponse: Decodable {
    var header: WireHeader?
    var deleted: WireInt64?
    var prev_kvs: [WireKeyValue]?

    var model: EtcdDeleteResponse {
        EtcdDeleteResponse(header: header.model, deleted: deleted?.value ?? 0, prevKVs: (prev_kvs ?? []).map(\.model))
    }
}

struct WireTxnResponse: Decodable {
    struct Op: Decodable {
        var response_range: WireRangeResponse?
        var response_put: WirePutResponse?
        var response_delete_range: WireDeleteResponse?
    }

    var header: WireHeader?
    var succeeded: Bool?
    var responses: [Op]?

    func model() throws(EtcdWire.DecodeError) -> EtcdTxnResponse {
        var ops: [EtcdTxnOpResponse] = []
        for (index, op) in (responses ?? []).enumerated() {
            if let range = op.response_range {
                ops.append(.range(range.model))
            } else if let put = op.response_put {
                ops.append(.put(put.model))
            } else if let delete = op.response_delete_range {
                ops.append(.delete(delete.model))
            } else {
                throw EtcdWire.DecodeError(reason: "txn response \(index) is neither a range, a put nor a delete")
            }
        }
        return EtcdTxnResponse(header: header.model, succeeded: succeeded ?? false, responses: ops)
    }
}

struct WireLeaseResponse: Decodable {
    var header: WireHeader?
    var ID: WireInt64?
    var TTL: WireInt64?
    /// LeaseGrantResponse.error: a string etcd 3.4 never sets (errors come as the error body).
    var error: String?
}

/// A line of a streaming reply (watch, lease keepalive): `{"result":{...}}`, or an error.
struct WireStreamLine<Result: Decodable>: Decodable {
    var result: Result?
}

struct WireStatus: Decodable {
    var header: WireHeader?
    var version: String?
    var dbSize: WireInt64?
    var leader: WireUInt64?
    var raftIndex: WireUInt64?
    var raftTerm: WireUInt64?
    var raftAppliedIndex: WireUInt64?
    var errors: [String]?
    var dbSizeInUse: WireInt64?
    var isLearner: Bool?

    var model: EtcdStatus {
        EtcdStatus(header: header.model, version: version ?? "", dbSize: dbSize?.value ?? 0, dbSizeInUse: dbSizeInUse?.value ?? 0,
                   leader: leader?.value ?? 0, raftIndex: raftIndex?.value ?? 0, raftTerm: raftTerm?.value ?? 0,
                   raftAppliedIndex: raftAppliedIndex?.value ?? 0, errors: errors ?? [], isLearner: isLearner ?? false)
    }
}

struct WireMemberList: Decodable {
    struct Member: Decodable {
        var ID: WireUInt64?
        var name: String?
        var peerURLs: [String]?
        var clientURLs: [String]?
        var isLearner: Bool?
    }

    var header: WireHeader?
    var members: [Member]?

    var model: EtcdMemberList {
        EtcdMemberList(header: header.model, members: (members ?? []).map {
            EtcdMember(id: $0.ID?.value ?? 0, name: $0.name ?? "", peerURLs: $0.peerURLs ?? [], clientURLs: $0.clientURLs ?? [], isLearner: $0.isLearner ?? false)
        })
    }
}

struct WireHealth: Decodable {
    var health: String?
    var reason: String?

    func model() throws(EtcdWire.DecodeError) -> EtcdHealth {
        switch health {
        case "true": EtcdHealth(healthy: true, reason: reason.flatMap { $0.isEmpty ? nil : $0 })
        case "false": EtcdHealth(healthy: false, reason: reason.flatMap { $0.isEmpty ? nil : $0 })
        default: throw EtcdWire.DecodeError(reason: "health is \(health.map { $0.debugDescription } ?? "missing"), not \"true\" or \"false\"")
        }
    }
}

struct WireAuthenticateResponse: Decodable {
    var header: WireHeader?
    var token: String?
}

struct WireWatchResponse: Decodable {
    struct Event: Decodable {
        var type: String?
        var kv: WireKeyValue?
        var prev_kv: WireKeyValue?
    }

    var header: WireHeader?
    var watch_id: WireInt64?
    var created: Bool?
    var canceled: Bool?
    var compact_revision: WireInt64?
    var cancel_reason: String?
    var fragment: Bool?
    var events: [Event]?

    func modelEvents() throws(EtcdWire.DecodeError) -> [EtcdEvent] {
        var result: [EtcdEvent] = []
        for (index, event) in (events ?? []).enumerated() {
            let kind: EtcdEvent.Kind
            switch event.type {
            case nil, "PUT": kind = .put  // PUT is the zero value: omitted
            case "DELETE": kind = .delete
            case let other?: throw EtcdWire.DecodeError(reason: "event \(index) has type \(other.debugDescription)")
            }
            guard let kv = event.kv else { throw EtcdWire.DecodeError(reason: "event \(index) has no kv") }
            result.append(EtcdEvent(kind: kind, kv: kv.model, prevKV: event.prev_kv?.model))
        }
        return result
    }
}

// MARK: Requests

struct WireRangeRequest: Encodable {
    var key: String
    var range_end: String?
    var limit: String?
    var revision: String?
    var keys_only: Bool?
    var count_only: Bool?
    var serializable: Bool?

    init(_ keys: EtcdKeyRange, _ options: EtcdRangeOptions) {
        let wire = keys.wire
        self.init(key: wire.key, rangeEnd: wire.rangeEnd, options)
    }

    /// Raw key bytes: a page of a range continues after a key that need not be UTF-8.
    init(key: [UInt8], rangeEnd: [UInt8]?, _ options: EtcdRangeOptions) {
        self.key = EtcdWire.base64(key)
        range_end = rangeEnd.map(EtcdWire.base64)
        limit = options.limit > 0 ? String(options.limit) : nil
        revision = options.revision > 0 ? String(options.revision) : nil
        keys_only = options.keysOnly ? true : nil
        count_only = options.countOnly ? true : nil
        serializable = options.serializable ? true : nil
    }
}

struct WirePutRequest: Encodable {
    var key: String
    var value: String
    var lease: String?
    var prev_kv: Bool?

    init(key: String, value: [UInt8], lease: Int64, prevKV: Bool) {
        self.key = EtcdWire.base64(Array(key.utf8))
        self.value = EtcdWire.base64(value)
        self.lease = lease != 0 ? String(lease) : nil
        self.prev_kv = prevKV ? true : nil
    }
}

struct WireDeleteRequest: Encodable {
    var key: String
    var range_end: String?
    var prev_kv: Bool?

    init(_ keys: EtcdKeyRange, prevKV: Bool) {
        let wire = keys.wire
        key = EtcdWire.base64(wire.key)
        range_end = wire.rangeEnd.map(EtcdWire.base64)
        prev_kv = prevKV ? true : nil
    }
}

struct WireTxnRequest: Encodable {
    struct Compare: Encodable {
        var key: String
        var target: String
        var result: String
        var version: String?
        var create_revision: String?
        var mod_revision: String?
        var value: String?
        var lease: String?

        init(_ compare: EtcdCompare) {
            key = EtcdWire.base64(Array(compare.key.utf8))
            result = compare.op.rawValue
            // The target value is a oneof: set explicitly, a 0 still selects the field.
            switch compare.target {
            case .version(let v): target = "VERSION"; version = String(v)
            case .createRevision(let v): target = "CREATE"; create_revision = String(v)
            case .modRevision(let v): target = "MOD"; mod_revision = String(v)
            case .value(let v): target = "VALUE"; value = EtcdWire.base64(v)
            case .lease(let v): target = "LEASE"; lease = String(v)
            }
        }
    }

    struct Op: Encodable {
        var request_range: WireRangeRequest?
        var request_put: WirePutRequest?
        var request_delete_range: WireDeleteRequest?

        init(_ op: EtcdTxnOp) {
            switch op {
            case .range(let keys, let options): request_range = WireRangeRequest(keys, options)
            case .put(let key, let value, let lease, let prevKV): request_put = WirePutRequest(key: key, value: value, lease: lease, prevKV: prevKV)
            case .delete(let keys, let prevKV): request_delete_range = WireDeleteRequest(keys, prevKV: prevKV)
            }
        }
    }

    var compare: [Compare]
    var success: [Op]
    var failure: [Op]

    init(_ txn: EtcdTxn) {
        compare = txn.compare.map(Compare.init)
        success = txn.success.map(Op.init)
        failure = txn.failure.map(Op.init)
    }
}

struct WireLeaseGrantRequest: Encodable {
    var TTL: String
    var ID: String?
}

struct WireLeaseIDRequest: Encodable {
    var ID: String
}

struct WireAuthenticateRequest: Encodable {
    var name: String
    var password: String
}

struct WireWatchRequest: Encodable {
    struct Create: Encodable {
        var key: String
        var range_end: String?
        var start_revision: String?
        var prev_kv: Bool?
        var progress_notify: Bool?
    }

    var create_request: Create

    init(_ keys: EtcdKeyRange, startRevision: Int64, options: EtcdWatchOptions) {
        let wire = keys.wire
        create_request = Create(
            key: EtcdWire.base64(wire.key), range_end: wire.rangeEnd.map(EtcdWire.base64),
            start_revision: startRevision > 0 ? String(startRevision) : nil,
            prev_kv: options.prevKV ? true : nil, progress_notify: options.progressNotify ? true : nil)
    }
}

struct WireEmptyRequest: Encodable {}
