@testable import MeshAgent
import XCTest

final class IPPrefixTests: XCTestCase {
    func testParsesAndNormalises() throws {
        XCTAssertEqual(IPPrefix("198.51.100.7/24")?.description, "198.51.100.0/24")
        XCTAssertEqual(IPPrefix("198.51.100.7")?.description, "198.51.100.7/32")
        XCTAssertEqual(IPPrefix("2001:db8::1")?.description, "2001:db8::1/128")
        XCTAssertEqual(IPPrefix("2001:db8:ffff::/33")?.description, "2001:db8:8000::/33")
        XCTAssertNil(IPPrefix("198.51.100.7/24", strict: true))
        XCTAssertNotNil(IPPrefix("198.51.100.0/24", strict: true))
        for bad in ["", "/24", "198.51.100.0/", "198.51.100.0/33", "2001:db8::/129", "198.51.100.0/+8", "198.51.100.0/08x",
                    "host.example", "198.51.100.0/24/1", "1.2.3", String(repeating: "1", count: 100)] {
            XCTAssertNil(IPPrefix(bad), bad)
        }
    }

    func testContainmentAndOverlap() throws {
        let lab = try XCTUnwrap(IPPrefix("198.51.100.0/24"))
        XCTAssertTrue(lab.contains(try XCTUnwrap(IPPrefix("198.51.100.2/32"))))
        XCTAssertTrue(lab.contains(lab))
        XCTAssertFalse(lab.contains(try XCTUnwrap(IPPrefix("198.51.0.0/16"))))
        XCTAssertFalse(lab.contains(try XCTUnwrap(IPPrefix("203.0.113.2/32"))))
        XCTAssertFalse(lab.contains(try XCTUnwrap(IPPrefix("2001:db8::/32"))))
        XCTAssertTrue(try XCTUnwrap(IPPrefix("198.51.0.0/16")).overlaps(lab))
        XCTAssertTrue(lab.overlaps(try XCTUnwrap(IPPrefix("198.51.100.128/25"))))
        XCTAssertFalse(try XCTUnwrap(IPPrefix("198.51.100.0/25")).overlaps(try XCTUnwrap(IPPrefix("198.51.100.128/25"))))
        XCTAssertTrue(try XCTUnwrap(IPPrefix("0.0.0.0/0")).isDefault)
        XCTAssertTrue(try XCTUnwrap(IPPrefix("::/0")).contains(try XCTUnwrap(IPPrefix("2001:db8::1"))))
    }

    func testOverlayPrefixSetting() throws {
        var c = AgentConfiguration()
        try c.apply("mesh.overlay-prefixes", .list(["198.51.100.0/24,2001:db8::/32"]), from: .flag("mesh.overlay-prefixes"))
        XCTAssertEqual(c.meshOverlayPrefixes.map(\.description), ["198.51.100.0/24", "2001:db8::/32"])
        for bad in ["0.0.0.0/0", "198.51.100.1/24", "lab"] {
            XCTAssertThrowsError(try c.apply("mesh.overlay-prefixes", .list([bad]), from: .flag("mesh.overlay-prefixes")), bad)
        }
    }
}
