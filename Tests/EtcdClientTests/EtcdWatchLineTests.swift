@testable import EtcdClient
import XCTest

/// Lines of captured watch streams, decoded.
final class EtcdWatchLineTests: XCTestCase {
    private func lines(_ name: String) throws -> [EtcdWatchLine] {
        try Fixture.bytes(name).split(separator: UInt8(ascii: "\n")).map { try EtcdWatchLine.parse(Array($0)).get() }
    }

    func testCapturedStream() throws {
        let parsed = try lines("v3-watch-stream-chunks.bin")
        XCTAssertEqual(parsed.count, 4)
        XCTAssertEqual(parsed[0], .created(revision: 8))
        guard case .events(let history, let revision) = parsed[1] else { return XCTFail("\(parsed[1])") }
        XCTAssertEqual(revision, 8)
        XCTAssertEqual(history.map(\.kind), [.put, .put, .put, .put, .put, .delete, .delete])
        XCTAssertEqual(history.map(\.kv.modRevision), [2, 3, 4, 5, 6, 7, 8])
        // PUT is the zero value of the event type: the field is absent.
        XCTAssertEqual(history[1].prevKV?.valueString, #"{"name":"a"}"#)
        XCTAssertNil(history[0].prevKV)
        XCTAssertEqual(history[3].kv.lease, 7_587_869_251_712_520_000)
        // A delete's kv holds only the key and the delete's revision.
        XCTAssertEqual(history[5].kv, EtcdKeyValue(key: Array("/bgpmesh/lab/nodes/b".utf8), modRevision: 7))
        XCTAssertEqual(history[6].prevKV?.lease, 7_587_869_251_712_520_000)

        guard case .events(let put, 9) = parsed[2], case .events(let delete, 10) = parsed[3] else { return XCTFail("\(parsed)") }
        XCTAssertEqual(put.map(\.kind), [.put])
        XCTAssertEqual(put[0].kv.valueString, #"{"name":"b"}"#)
        XCTAssertEqual(delete.map(\.kind), [.delete])
        XCTAssertEqual(delete[0].prevKV?.createRevision, 9)
    }

    func testCompactedWatch() throws {
        XCTAssertEqual(try lines("v3-watch-compacted.bin"), [.created(revision: 10), .compacted(10)])
    }

    func testCanceledWatches() throws {
        XCTAssertEqual(try lines("v3-watch-invalid-token.bin"),
                       [.canceled(reason: "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token")])
        XCTAssertEqual(try lines("v3-watch-permission-denied.bin"),
                       [.canceled(reason: "rpc error: code = PermissionDenied desc = etcdserver: permission denied")])
        XCTAssertEqual(try lines("v3-watch-bad-request.bin"),
                       [.error(code: 2, message: "invalid character 'g' looking for beginning of value")])
    }

    func testProgressAndMalformedLines() {
        XCTAssertEqual(try EtcdWatchLine.parse(Array(#"{"result":{"header":{"revision":"42"}}}"#.utf8)).get(), .progress(revision: 42))
        XCTAssertEqual(try EtcdWatchLine.parse(Array(#"{"result":{"canceled":true}}"#.utf8)).get(), .canceled(reason: ""))
        for bad in [#"{}"#, #"{"result":{"events":[{"type":"PATCH","kv":{}}]}}"#, #"{"result":{"events":[{}]}}"#, "[", #"{"result":{"header":{"revision":"x"}}}"#] {
            XCTAssertThrowsError(try EtcdWatchLine.parse(Array(bad.utf8)).get(), bad)
        }
    }
}
