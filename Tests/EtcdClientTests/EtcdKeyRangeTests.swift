@testable import EtcdClient
import XCTest

final class EtcdKeyRangeTests: XCTestCase {
    func testPrefixEnd() {
        XCTAssertEqual(EtcdKeyRange.prefixEnd(Array("a".utf8)), Array("b".utf8))
        XCTAssertEqual(EtcdKeyRange.prefixEnd(Array("/bgpmesh/lab/".utf8)), Array("/bgpmesh/lab0".utf8))
        XCTAssertEqual(EtcdKeyRange.prefixEnd([0x61, 0xff]), [0x62])
        XCTAssertEqual(EtcdKeyRange.prefixEnd([0x61, 0xff, 0xff]), [0x62])
        XCTAssertEqual(EtcdKeyRange.prefixEnd([0xff, 0xff]), [0])
    }

    func testWireFields() {
        XCTAssertTrue(EtcdKeyRange.key("k").wire == (Array("k".utf8), nil))
        XCTAssertTrue(EtcdKeyRange.prefix("").wire == ([0], [0]))
        XCTAssertTrue(EtcdKeyRange.fromKey("m").wire == (Array("m".utf8), [0]))
        XCTAssertTrue(EtcdKeyRange.range(from: "a", to: "c").wire == (Array("a".utf8), Array("c".utf8)))
        // A non-ASCII prefix is incremented as bytes: "é" is C3 A9.
        XCTAssertTrue(EtcdKeyRange.prefix("é").wire == ([0xc3, 0xa9], [0xc3, 0xaa]))
    }

    func testEmptyKeysAreRefusedBeforeSending() {
        XCTAssertThrowsError(try EtcdClient.validate(.key(""), op: .put))
        XCTAssertThrowsError(try EtcdClient.validate(.range(from: "", to: "b"), op: .range))
        XCTAssertNoThrow(try EtcdClient.validate(.prefix(""), op: .range))
    }

    func testConfigurationValidation() throws {
        XCTAssertEqual(try EtcdClient.Configuration(endpoints: ["127.0.0.1:23791", "http://127.0.0.1:23792/", " https://h:1 "]).validatedEndpoints(),
                       ["http://127.0.0.1:23791", "http://127.0.0.1:23792", "https://h:1"])
        XCTAssertEqual(try EtcdClient.Configuration(endpoints: ["127.0.0.1:23791"], tls: .init()).validatedEndpoints(), ["https://127.0.0.1:23791"])
        for bad in [[], ["unix:///run/etcd.sock"], ["http://"], ["http://user@h:1"]] {
            XCTAssertThrowsError(try EtcdClient.Configuration(endpoints: bad).validatedEndpoints(), "\(bad)") { error in
                guard case EtcdError.invalidConfiguration = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try EtcdClient.Configuration(endpoints: ["h:1"], tls: .init(caFile: "/nonexistent/ca.pem")).validatedEndpoints())
        XCTAssertThrowsError(try EtcdClient.Configuration(endpoints: ["h:1"], tls: .init(certFile: "/etc/hostname")).validatedEndpoints())
        XCTAssertEqual(EtcdClient.Credentials(username: "agent", password: "secret").description, "agent:<redacted>")
    }

    func testOperationNamesAreTheMetricLabels() {
        XCTAssertEqual(EtcdOperation.allCases.map(\.rawValue),
                       ["range", "put", "delete", "txn", "lease_grant", "lease_keepalive", "lease_revoke", "watch", "status", "member_list", "health", "auth"])
    }
}
