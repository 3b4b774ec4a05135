import TincControl
import XCTest

/// Which tincd command lines run this net: -n/--net, -c/--config (which wins), neither (/etc/tinc).
final class TincProcessIdentityTests: XCTestCase {
    let resolve: (String) -> String? = { $0 }

    func mismatch(_ arguments: [String], net: String = "bgpmesh", directory: String = "/etc/tinc/bgpmesh", cwd: String? = "/") -> String? {
        TincProcessIdentity(arguments: arguments).mismatch(net: net, directory: directory, workingDirectory: cwd, resolve: resolve)
    }

    func testNetAndConfigurationDirectoryForms() {
        XCTAssertEqual(TincProcessIdentity(arguments: ["tincd", "-n", "a"]).net, "a")
        XCTAssertEqual(TincProcessIdentity(arguments: ["tincd", "-na"]).net, "a")
        XCTAssertEqual(TincProcessIdentity(arguments: ["tincd", "--net=a"]).net, "a")
        XCTAssertEqual(TincProcessIdentity(arguments: ["tincd", "--net", "a"]).net, "a")
        XCTAssertEqual(TincProcessIdentity(arguments: ["tincd", "-Dc", "/x"]).configDirectory, "/x")
        XCTAssertEqual(TincProcessIdentity(arguments: ["tincd", "--config=/x", "-d5"]).configDirectory, "/x")
        XCTAssertNil(TincProcessIdentity(arguments: ["tincd", "--logfile", "-n", "a"]).configDirectory)
        XCTAssertEqual(TincProcessIdentity(arguments: ["tincd", "--logfile", "-n", "a"]).net, "a", "--logfile takes no separate argument")
        XCTAssertNil(TincProcessIdentity(arguments: ["tincd", "--pidfile", "-n"]).net, "-n is the pidfile's argument here")
    }

    func testWhichCommandLinesAreThisNet() {
        XCTAssertNil(mismatch(["tincd", "-n", "bgpmesh"]))
        XCTAssertNotNil(mismatch(["tincd", "-n", "other"]))
        XCTAssertNil(mismatch(["tincd", "-n", "other", "-c", "/etc/tinc/bgpmesh"]), "-c wins over -n")
        XCTAssertNotNil(mismatch(["tincd", "-n", "bgpmesh", "-c", "/srv/other"]))
        XCTAssertNil(mismatch(["tincd", "-c", "tinc/bgpmesh"], directory: "/srv/tinc/bgpmesh", cwd: "/srv"), "a relative -c from its cwd")
        XCTAssertNotNil(mismatch(["tincd", "-D"]), "no net: /etc/tinc")
        XCTAssertNil(mismatch(["tincd", "-D"], directory: "/etc/tinc"))
    }
}
