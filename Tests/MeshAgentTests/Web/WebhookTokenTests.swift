import Foundation
import Glibc
@testable import MeshAgent
import XCTest

final class WebhookTokenTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "bgpmesh-token-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    func write(_ content: String, mode: mode_t = 0o600, name: String = "token") throws -> String {
        let path = "\(dir!)/\(name)"
        try content.write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(path, mode), 0)
        return path
    }

    func refusal(_ path: String) -> String {
        do { _ = try WebhookToken.load(path: path); return "loaded" } catch { return error.description }
    }

    func testLoadTrimsTheNewline() throws {
        let token = try WebhookToken.load(path: write("  s3cret-Token_1\n"))
        XCTAssertEqual(token.verify(authorization: "Bearer s3cret-Token_1"), .accepted)
        XCTAssertEqual(token.verify(authorization: "Bearer s3cret-Token_1\n"), .accepted)
        let owner = try WebhookToken.load(path: write("x", mode: 0o400, name: "ro"))
        XCTAssertEqual(owner.verify(authorization: "Bearer x"), .accepted)
    }

    func testRefusesWhatOthersMayRead() throws {
        let path = try write("tok\n", mode: 0o644)
        XCTAssertEqual(refusal(path), "invalid configuration: web.webhook-token-file \(path): mode 644 lets group or others access the token; chmod 600 it")
        XCTAssertTrue(refusal(try write("tok\n", mode: 0o620, name: "gw")).contains("mode 620"))
        XCTAssertTrue(refusal(try write("tok\n", mode: 0o601, name: "ox")).contains("mode 601"))
    }

    func testRefusesEmptyMissingAndOddFiles() throws {
        let empty = try write("")
        XCTAssertEqual(refusal(empty), "invalid configuration: web.webhook-token-file \(empty): empty; it must hold the bearer token")
        XCTAssertTrue(refusal(try write(" \n\n", name: "blank")).hasSuffix("empty; it must hold the bearer token"))
        XCTAssertTrue(refusal(try write("two words\n", name: "space")).contains("one line of visible ASCII"))
        XCTAssertTrue(refusal(try write(String(repeating: "x", count: 5000), name: "big")).contains("larger than 4096 bytes"))
        XCTAssertTrue(refusal("\(dir!)/none").hasSuffix("none: No such file or directory (open, errno 2)"), refusal("\(dir!)/none"))
        XCTAssertTrue(refusal(dir).hasSuffix("a directory, not a regular file"), refusal(dir))
        // A symlink is followed, and the file it names is checked.
        XCTAssertEqual(symlink(try write("tok\n", name: "real"), "\(dir!)/link"), 0)
        XCTAssertEqual(refusal("\(dir!)/link"), "loaded")
        XCTAssertEqual(symlink(try write("tok\n", mode: 0o640, name: "shared"), "\(dir!)/link2"), 0)
        XCTAssertTrue(refusal("\(dir!)/link2").contains("mode 640"), refusal("\(dir!)/link2"))
    }

    func testVerify() throws {
        let token = try WebhookToken("abc123")
        XCTAssertEqual(token.verify(authorization: nil), .missing)
        XCTAssertEqual(token.verify(authorization: ""), .missing)
        XCTAssertEqual(token.verify(authorization: "Bearer"), .missing)
        XCTAssertEqual(token.verify(authorization: "Basic YWJjMTIz"), .missing)
        XCTAssertEqual(token.verify(authorization: "abc123"), .missing)
        XCTAssertEqual(token.verify(authorization: "Bearer abc123"), .accepted)
        XCTAssertEqual(token.verify(authorization: "bearer abc123"), .accepted, "the scheme is case-insensitive")
        XCTAssertEqual(token.verify(authorization: "BEARER   abc123 "), .accepted)
        XCTAssertEqual(token.verify(authorization: "Bearer abc124"), .wrong)
        XCTAssertEqual(token.verify(authorization: "Bearer abc1234"), .wrong)
        XCTAssertEqual(token.verify(authorization: "Bearer abc12"), .wrong)
        XCTAssertEqual(token.verify(authorization: "Bearer ABC123"), .wrong)
        XCTAssertEqual(token.verify(authorization: "Bearer abc123abc123"), .wrong, "a repeat of the token is not the token")
        XCTAssertThrowsError(try WebhookToken(""))
    }

    func testConstantTimeEquals() {
        let e = Array("secret".utf8)
        XCTAssertTrue(WebhookToken.constantTimeEquals(e, e))
        XCTAssertFalse(WebhookToken.constantTimeEquals([], e))
        XCTAssertFalse(WebhookToken.constantTimeEquals(Array("secreT".utf8), e))
        XCTAssertFalse(WebhookToken.constantTimeEquals(Array("secretsecret".utf8), e))
        XCTAssertFalse(WebhookToken.constantTimeEquals(Array("sec".utf8), Array("secsec".utf8)))
    }
}
