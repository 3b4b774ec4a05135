import XCTest
@testable import HTTPServer

final class HTTPHeadersTests: XCTestCase {
    func testOrderedCaseInsensitiveFields() {
        var headers: HTTPHeaders = ["Content-Type": "text/plain", "Set-Cookie": "a=1"]
        headers.add("set-cookie", "b=2")
        XCTAssertEqual(headers["content-type"], "text/plain")
        XCTAssertEqual(headers.values("SET-COOKIE"), ["a=1", "b=2"])
        XCTAssertNil(headers["X-Missing"])
        headers.replace("Set-Cookie", "c=3")
        XCTAssertEqual(headers.values("set-cookie"), ["c=3"])
        headers.remove("CONTENT-TYPE")
        XCTAssertEqual(headers.map(\.name), ["Set-Cookie"])
        XCTAssertEqual(headers.count, 1)
    }

    func testTokens() {
        let headers: HTTPHeaders = ["Connection": "Keep-Alive, Upgrade", "connection": " close "]
        XCTAssertEqual(headers.tokens("Connection"), ["keep-alive", "upgrade", "close"])
    }

    func testResponseEncodingOwnsFramingHeaders() {
        var response = HTTPResponse.text(200, "hi")
        response.headers.add("Content-Length", "999")
        response.headers.add("Connection", "upgrade")
        response.headers.add("X-Evil", "a\r\nInjected: 1")
        response.headers.add("Bad Name", "x")
        let text = String(decoding: response.encoded(requestMethod: "GET", close: true, keepAliveHeader: false,
                                                     date: "Sun, 06 Nov 1994 08:49:37 GMT"), as: UTF8.self)
        XCTAssertEqual(text, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-Evil: a  Injected: 1\r\n"
            + "Server: bgpmesh-agent\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
    }

    func testHTTPDateFormat() {
        XCTAssertEqual(HTTPDate.format(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT")
        XCTAssertEqual(HTTPDate.format(0), "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}
