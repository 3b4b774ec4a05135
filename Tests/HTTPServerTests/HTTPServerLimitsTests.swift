import XCTest
@testable import HTTPServer

/// Every limit and rejection, answered with its status, `Connection: close`, then a close.
final class HTTPServerLimitsTests: XCTestCase {
    private var server: HTTPServer!
    private var port: UInt16 = 0

    override func setUpWithError() throws {
        (server, port) = try TestServer.start({ configuration in
            configuration.maxRequestLineBytes = 100
            configuration.maxHeaderBytes = 512
            configuration.maxHeaderCount = 10
            configuration.maxBodyBytes = 1000
        }, handler: TestServer.handler)
    }

    override func tearDown() {
        TestServer.stop(server)
    }

    private func assertRejected(_ request: String, _ status: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let client = try TestClient(port: port)
        try client.send(request)
        let response = try client.readResponse()
        XCTAssertEqual(response.status, status, request.debugDescription, file: file, line: line)
        XCTAssertEqual(response.header("Connection"), "close", file: file, line: line)
        XCTAssertTrue(client.isClosedByServer(), "connection stays open after \(status)", file: file, line: line)
    }

    func testRequestLineTooLongIs414() throws {
        try assertRejected("GET /\(String(repeating: "a", count: 200)) HTTP/1.1\r\nHost: t\r\n\r\n", 414)
    }

    func testHeaderSectionTooLargeIs431() throws {
        try assertRejected("GET / HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "b", count: 600))\r\n\r\n", 431)
    }

    func testTooManyHeadersIs431() throws {
        let headers = (0..<11).map { "X-\($0): v\r\n" }.joined()
        try assertRejected("GET / HTTP/1.1\r\nHost: t\r\n\(headers)\r\n", 431)
    }

    func testBodyTooLargeIs413() throws {
        // Answered from the headers alone, before the body is sent.
        try assertRejected("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n", 413)
        try assertRejected("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n", 413)
    }

    func testBodyTooLargeAnswerSurvivesTheClientStillSending() throws {
        let client = try TestClient(port: port)
        try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "x", count: 5000))
        XCTAssertEqual(try client.readResponse().status, 413)
    }

    func testUnknownMethodIs501() throws {
        try assertRejected("BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n", 501)
    }

    func testUnsupportedVersionIs505() throws {
        try assertRejected("GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505)
    }

    func testMalformedRequestsAre400() throws {
        try assertRejected("GET /\r\n\r\n", 400)
        try assertRejected("GET / HTTP/1.1\r\n\r\n", 400)
        try assertRejected("GET / HTTP/1.1\nHost: t\n\n", 400)
        try assertRejected("\u{16}\u{3}\u{1}\u{0}\u{a5}\u{1}\r\n\r\n", 400)
    }

    func testSmugglingAttemptsAre400() throws {
        let cases = [
            "Content-Length: 4\r\nTransfer-Encoding: chunked",
            "Transfer-Encoding: chunked\r\nContent-Length: 4",
            "Content-Length: 4\r\nContent-Length: 5",
            "Content-Length: 4, 5",
            "Content-Length: four",
            "Content-Length: -4",
            "Transfer-Encoding: gzip",
            "Transfer-Encoding: chunked, gzip",
            "Transfer-Encoding: xchunked",
            "X-Folded: a\r\n b",
            "Content-Length : 4",
        ]
        for header in cases {
            try assertRejected("POST /echo HTTP/1.1\r\nHost: t\r\n\(header)\r\n\r\nbody", 400)
        }
    }
}
