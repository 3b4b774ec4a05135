@testable import EtcdClient
import XCTest

/// Decoding of every captured reply: zero values omitted, int64 as strings, padded base64.
final class EtcdWireTests: XCTestCase {
    private let clusterID: UInt64 = 9_532_430_645_048_476_571
    private let memberID: UInt64 = 15_815_336_321_374_705_523

    func testEmptyPrefixRangeHasNoKvsAndNoCount() throws {
        let reply = try EtcdWire.range(Fixture.bytes("v3-kv-range-prefix-empty.json"))
        XCTAssertEqual(reply.header, EtcdResponseHeader(clusterID: clusterID, memberID: memberID, revision: 1, raftTerm: 2))
        XCTAssertEqual(reply.kvs, [])
        XCTAssertEqual(reply.count, 0)
        XCTAssertFalse(reply.more)
    }

    func testPrefixRange() throws {
        let reply = try EtcdWire.range(Fixture.bytes("v3-kv-range-prefix.json"))
        XCTAssertEqual(reply.header.revision, 5)
        XCTAssertEqual(reply.count, 3)
        XCTAssertEqual(reply.kvs.map(\.keyString), ["/bgpmesh/lab/alive/a", "/bgpmesh/lab/nodes/a", "/bgpmesh/lab/nodes/b"])
        XCTAssertEqual(reply.kvs[0], EtcdKeyValue(key: Array("/bgpmesh/lab/alive/a".utf8), value: Array("1".utf8), createRevision: 5,
                                                  modRevision: 5, version: 1, lease: 7_587_869_251_712_520_000))
        XCTAssertEqual(reply.kvs[1].valueString, #"{"name":"a","v":2}"#)
        XCTAssertEqual(reply.kvs[1].version, 2)
        XCTAssertEqual(reply.kvs[1].lease, 0)
        // An empty value is omitted on the wire.
        XCTAssertEqual(reply.kvs[2].value, [])
    }

    func testRangeLimitKeysOnlyCountOnlyRevision() throws {
        let limited = try EtcdWire.range(Fixture.bytes("v3-kv-range-prefix-limit.json"))
        XCTAssertEqual(limited.kvs.count, 1)
        XCTAssertTrue(limited.more)
        XCTAssertEqual(limited.count, 3)

        let keysOnly = try EtcdWire.range(Fixture.bytes("v3-kv-range-prefix-keys-only.json"))
        XCTAssertEqual(keysOnly.kvs.count, 3)
        XCTAssertTrue(keysOnly.kvs.allSatisfy { $0.value.isEmpty && $0.modRevision > 0 })

        let countOnly = try EtcdWire.range(Fixture.bytes("v3-kv-range-prefix-count-only.json"))
        XCTAssertEqual(countOnly.kvs, [])
        XCTAssertEqual(countOnly.count, 3)

        let old = try EtcdWire.range(Fixture.bytes("v3-kv-range-revision.json"))
        XCTAssertEqual(old.kvs.first?.valueString, #"{"name":"a"}"#)
        XCTAssertEqual(old.kvs.first?.modRevision, 2)
        XCTAssertEqual(old.header.revision, 5)
    }

    func testPutReplies() throws {
        let plain = try EtcdWire.put(Fixture.bytes("v3-kv-put.json"))
        XCTAssertEqual(plain.header.revision, 2)
        XCTAssertNil(plain.prevKV)
        let previous = try EtcdWire.put(Fixture.bytes("v3-kv-put-prev-kv.json"))
        XCTAssertEqual(previous.header.revision, 3)
        XCTAssertEqual(previous.prevKV?.valueString, #"{"name":"a"}"#)
        XCTAssertEqual(previous.prevKV?.modRevision, 2)
    }

    func testDeleteReplies() throws {
        let deleted = try EtcdWire.delete(Fixture.bytes("v3-kv-deleterange-prev-kv.json"))
        XCTAssertEqual(deleted.deleted, 1)
        XCTAssertEqual(deleted.prevKVs.map(\.keyString), ["/bgpmesh/lab/nodes/b"])
        let none = try EtcdWire.delete(Fixture.bytes("v3-kv-deleterange-none.json"))
        XCTAssertEqual(none.deleted, 0)
        XCTAssertEqual(none.prevKVs, [])
        XCTAssertEqual(none.header.revision, 7)
    }

    func testTxnSucceeded() throws {
        let reply = try EtcdWire.txn(Fixture.bytes("v3-kv-txn-succeeded.json"))
        XCTAssertTrue(reply.succeeded)
        XCTAssertEqual(reply.responses, [.put(EtcdPutResponse(header: EtcdResponseHeader(revision: 6)))])
    }

    func testFailedTxnHasNoSucceededField() throws {
        let body = try Fixture.bytes("v3-kv-txn-failed.json")
        XCTAssertFalse(String(decoding: body, as: UTF8.self).contains("succeeded"))
        let reply = try EtcdWire.txn(body)
        XCTAssertFalse(reply.succeeded)
        XCTAssertEqual(reply.responses.count, 2)
        guard case .range(let range) = reply.responses[0], case .delete(let delete) = reply.responses[1] else {
            return XCTFail("unexpected responses \(reply.responses)")
        }
        XCTAssertEqual(range.kvs.first?.valueString, "a")
        XCTAssertEqual(range.header, EtcdResponseHeader(revision: 6))
        XCTAssertEqual(delete.deleted, 0)
    }

    func testLeaseReplies() throws {
        let grant = try EtcdWire.leaseGrant(Fixture.bytes("v3-lease-grant.json"))
        XCTAssertEqual(grant.id, 7_587_869_251_712_520_000)
        XCTAssertEqual(grant.ttlSeconds, 60)
        // TTL 1 was raised to etcd's minimum.
        XCTAssertEqual(try EtcdWire.leaseGrant(Fixture.bytes("v3-lease-grant-min-ttl.json")).ttlSeconds, 2)

        let alive = try EtcdWire.leaseKeepAlive(Fixture.bytes("v3-lease-keepalive.json"))
        XCTAssertEqual(alive.id, 7_587_869_251_712_520_000)
        XCTAssertEqual(alive.ttlSeconds, 60)
        XCTAssertEqual(alive.header.revision, 7)
        // An unknown lease: HTTP 200, the ID, and no TTL.
        let expired = try EtcdWire.leaseKeepAlive(Fixture.bytes("v3-lease-keepalive-expired.json"))
        XCTAssertEqual(expired.id, 12345)
        XCTAssertEqual(expired.ttlSeconds, 0)

        XCTAssertEqual(try EtcdWire.header(Fixture.bytes("v3-lease-revoke.json")).revision, 8)
        XCTAssertEqual(WireErrorBody.parse(try Fixture.bytes("v3-lease-revoke-not-found.json")),
                       WireErrorBody(code: 5, message: "etcdserver: requested lease not found"))
    }

    func testStatusMemberListHealth() throws {
        let status = try EtcdWire.status(Fixture.bytes("v3-maintenance-status.json"))
        XCTAssertEqual(status.version, "3.4.23")
        XCTAssertEqual(status.dbSize, 20480)
        XCTAssertEqual(status.dbSizeInUse, 16384)
        XCTAssertEqual(status.leader, memberID)
        XCTAssertTrue(status.isLeader)
        XCTAssertEqual(status.raftIndex, 17)
        XCTAssertEqual(status.raftAppliedIndex, 17)
        XCTAssertEqual(status.raftTerm, 2)
        XCTAssertEqual(status.errors, [])

        let members = try EtcdWire.memberList(Fixture.bytes("v3-cluster-member-list.json"))
        // The member list header has no revision.
        XCTAssertEqual(members.header.revision, 0)
        XCTAssertEqual(members.members, [EtcdMember(id: memberID, name: "capture", peerURLs: ["http://127.0.0.1:23809"],
                                                    clientURLs: ["http://127.0.0.1:23799"])])

        XCTAssertEqual(try EtcdWire.health(Fixture.bytes("health.json")), EtcdHealth(healthy: true))
        XCTAssertEqual(try EtcdWire.health(Array(#"{"health":"false"}"#.utf8)), EtcdHealth(healthy: false))
        XCTAssertThrowsError(try EtcdWire.health(Array(#"{"health":"maybe"}"#.utf8)))
    }

    func testAuthenticateReplies() throws {
        XCTAssertEqual(try EtcdWire.authenticate(Fixture.bytes("v3-auth-authenticate.json")), "CWldtBUxrwowzDdE.31")
        XCTAssertEqual(WireErrorBody.parse(try Fixture.bytes("v3-auth-authenticate-failed.json"))?.message,
                       "etcdserver: authentication failed, invalid user ID or password")
        XCTAssertEqual(WireErrorBody.parse(try Fixture.bytes("v3-auth-authenticate-not-enabled.json")),
                       WireErrorBody(code: 9, message: EtcdServerMessage.authNotEnabled))
        XCTAssertEqual(try EtcdWire.range(Fixture.bytes("v3-kv-range-token.json")).kvs.count, 1)
    }

    func testErrorBodies() throws {
        XCTAssertEqual(WireErrorBody.parse(try Fixture.bytes("v3-error-body.json")),
                       WireErrorBody(code: 3, message: "json: cannot unmarshal number into Go value of type []uint8"))
        let cases: [(String, Int, String, Bool)] = [
            ("v3-kv-range-compacted.json", 11, EtcdServerMessage.compacted, true),
            ("v3-kv-range-future-revision.json", 11, EtcdServerMessage.futureRevision, false),
            ("v3-kv-range-invalid-token.json", 16, EtcdServerMessage.invalidToken, false),
            ("v3-kv-range-bearer-token.json", 16, EtcdServerMessage.invalidToken, false),
            ("v3-kv-range-no-token.json", 3, EtcdServerMessage.userEmpty, false),
            ("v3-kv-range-permission-denied.json", 7, "etcdserver: permission denied", false),
            ("v3-kv-put-unpadded-base64.json", 3, "illegal base64 data at input byte 0", false),
        ]
        for (name, code, message, compacted) in cases {
            let wire = try XCTUnwrap(WireErrorBody.parse(try Fixture.bytes(name)), name)
            XCTAssertEqual(wire, WireErrorBody(code: code, message: message), name)
            let error = EtcdError.server(op: "range", endpoint: "http://127.0.0.1:1", httpStatus: 400, code: wire.code, message: wire.message)
            XCTAssertEqual(error.isCompacted, compacted, name)
        }
        XCTAssertTrue(EtcdClient.needsNewToken(WireErrorBody(code: 16, message: EtcdServerMessage.invalidToken)))
        XCTAssertTrue(EtcdClient.needsNewToken(WireErrorBody(code: 3, message: EtcdServerMessage.userEmpty)))
        XCTAssertFalse(EtcdClient.needsNewToken(WireErrorBody(code: 7, message: "etcdserver: permission denied")))
        // A reply is not an error body.
        XCTAssertNil(WireErrorBody.parse(try Fixture.bytes("v3-kv-range-prefix.json")))
        XCTAssertNil(WireErrorBody.parse(try Fixture.bytes("health.json")))
        // The nested form of a grpc-gateway stream error.
        XCTAssertEqual(WireErrorBody.parse(Array(#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}"#.utf8)),
                       WireErrorBody(code: 14, message: "etcdserver: no leader"))
    }

    func testMalformedRepliesThrow() {
        XCTAssertThrowsError(try EtcdWire.range(Array(#"{"header":{"revision":"x"}}"#.utf8))) { error in
            XCTAssertTrue((error as? EtcdWire.DecodeError)?.reason.contains("not an int64") == true, "\(error)")
        }
        XCTAssertThrowsError(try EtcdWire.range(Array(#"{"kvs":[{"key":"***"}]}"#.utf8)))
        XCTAssertThrowsError(try EtcdWire.range(Array("not json".utf8)))
        XCTAssertThrowsError(try EtcdWire.leaseGrant(Array("{}".utf8)))
        XCTAssertThrowsError(try EtcdWire.txn(Array(#"{"responses":[{}]}"#.utf8)))
        XCTAssertThrowsError(try EtcdWire.authenticate(Array("{}".utf8)))
        // Numbers instead of strings are accepted, and base64 without padding.
        XCTAssertEqual(try EtcdWire.range(Array(#"{"header":{"revision":7},"kvs":[{"key":"eA","value":"eXo"}],"count":1}"#.utf8)),
                       EtcdRangeResponse(header: EtcdResponseHeader(revision: 7), kvs: [EtcdKeyValue(key: [0x78], value: [0x79, 0x7a])], count: 1))
    }

    func testRequestEncoding() {
        func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
        XCTAssertEqual(text(EtcdWire.encode(WireRangeRequest(.prefix("/bgpmesh/lab/"), EtcdRangeOptions(limit: 5, revision: 9, keysOnly: true)))),
                       #"{"key":"L2JncG1lc2gvbGFiLw==","keys_only":true,"limit":"5","range_end":"L2JncG1lc2gvbGFiMA==","revision":"9"}"#)
        XCTAssertEqual(text(EtcdWire.encode(WireRangeRequest(.key("x"), EtcdRangeOptions()))), #"{"key":"eA=="}"#)
        // Padded base64 always: etcd refuses it without.
        XCTAssertEqual(text(EtcdWire.encode(WirePutRequest(key: "xy", value: [1], lease: 7_587_869_251_712_520_000, prevKV: true))),
                       #"{"key":"eHk=","lease":"7587869251712520000","prev_kv":true,"value":"AQ=="}"#)
        XCTAssertEqual(text(EtcdWire.encode(WirePutRequest(key: "k", value: [], lease: 0, prevKV: false))), #"{"key":"aw==","value":""}"#)
        let txn = EtcdTxn(compare: [.missing("k"), .modRevision("m", equals: 0), .value("v", equals: [])],
                          success: [.put(key: "k", value: [0x61])], failure: [.range(.key("k")), .delete(.prefix("p"), prevKV: true)])
        XCTAssertEqual(text(EtcdWire.encode(WireTxnRequest(txn))),
                       #"{"compare":[{"create_revision":"0","key":"aw==","result":"EQUAL","target":"CREATE"},"#
                       + #"{"key":"bQ==","mod_revision":"0","result":"EQUAL","target":"MOD"},{"key":"dg==","result":"EQUAL","target":"VALUE","value":""}],"#
                       + #""failure":[{"request_range":{"key":"aw=="}},{"request_delete_range":{"key":"cA==","prev_kv":true,"range_end":"cQ=="}}],"#
                       + #""success":[{"request_put":{"key":"aw==","value":"YQ=="}}]}"#)
        XCTAssertEqual(text(EtcdWire.encode(WireWatchRequest(.prefix("a"), startRevision: 12, options: EtcdWatchOptions(prevKV: true)))),
                       #"{"create_request":{"key":"YQ==","prev_kv":true,"range_end":"Yg==","start_revision":"12"}}"#)
        XCTAssertEqual(text(EtcdWire.encode(WireLeaseGrantRequest(TTL: "5", ID: nil))), #"{"TTL":"5"}"#)
    }
}
