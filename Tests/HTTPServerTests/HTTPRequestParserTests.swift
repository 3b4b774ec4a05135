import XCTest
@testable import HTTPServer

final class HTTPRequestParserTests: XCTestCase {
    private func parseAll(_ text: String, limits: HTTPRequestParser.Limits = .init(), chunked: Int? = nil) -> [HTTPRequestParser.Result] {
        var parser = HTTPRequestParser(limits: limits)
        var results: [HTTPRequestParser.Result] = []
        let bytes = Array(text.utf8)
        let step = chunked ?? max(bytes.count, 1)
        var offset = 0
        repeat {
            let end = min(offset + step, bytes.count)
            parser.append(contentsOf: bytes[offset..<end])
            offset = end
            loop: while true {
                let result = parser.next()
                switch result {
                case .needMore: break loop
                case .request: results.append(result)
                case .error:
                    results.append(result)
                    return results
                }
            }
        } while offset < bytes.count
        return results
    }

    private func requests(_ results: [HTTPRequestParser.Result]) -> [HTTPRequest] {
        results.compactMap { if case .request(let request) = $0 { request } else { nil } }
    }

    private func errorStatus(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> Int? {
        for result in parseAll(text, limits: limits) {
            if case .error(let status, _) = result { return status }
        }
        return nil
    }

    func testSimpleGetWithQuery() {
        let parsed = requests(parseAll("GET /metrics?name[]=a&x=1 HTTP/1.1\r\nHost: node1\r\nAccept:  text/plain \r\n\r\n"))
        XCTAssertEqual(parsed.count, 1)
        let request = parsed[0]
        XCTAssertEqual(request.method, "GET")
        XCTAssertEqual(request.target, "/metrics?name[]=a&x=1")
        XCTAssertEqual(request.path, "/metrics")
        XCTAssertEqual(request.query, "name[]=a&x=1")
        XCTAssertEqual(request.version, "HTTP/1.1")
        XCTAssertEqual(request.headers["accept"], "text/plain")
        XCTAssertEqual(request.headers["HOST"], "node1")
        XCTAssertEqual(request.body, [])
    }

    func testPipelinedRequestsParseTheSameByteByByte() {
        let text = "\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "3;name=value\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n"
            + "GET /d HTTP/1.0\r\n\r\n"
        for step in [nil, 1, 2, 7] {
            let parsed = requests(parseAll(text, chunked: step))
            XCTAssertEqual(parsed.map(\.path), ["/a", "/b", "/c", "/d"], "step \(String(describing: step))")
            XCTAssertEqual(parsed.map { String(decoding: $0.body, as: UTF8.self) }, ["", "hello", "abc0123456789", ""])
            XCTAssertNil(parsed[2].headers["X-Trailer"], "trailers are not merged into headers")
            XCTAssertEqual(parsed[3].version, "HTTP/1.0")
        }
    }

    func testAbsoluteFormAndAsteriskTargets() {
        let parsed = requests(parseAll(
            "GET http://node1:10179/metrics?x=1 HTTP/1.1\r\nHost: node1\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertEqual(parsed[0].path, "/metrics")
        XCTAssertEqual(parsed[0].query, "x=1")
        XCTAssertEqual(parsed[1].path, "*")
        XCTAssertEqual(HTTPRequest(method: "GET", target: "http://h").path, "/")
    }

    func testMinorVersionAboveOneIsHandledAsOnePointOne() {
        XCTAssertEqual(requests(parseAll("GET / HTTP/1.7\r\nHost: x\r\n\r\n")).first?.version, "HTTP/1.1")
    }

    func testIdenticalDuplicateContentLengthIsAccepted() {
        let parsed = requests(parseAll("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc"))
        XCTAssertEqual(parsed.first?.body, Array("abc".utf8))
    }

    func testErrorStatuses() {
        let limits = HTTPRequestParser.Limits(maxRequestLineBytes: 64, maxHeaderBytes: 128, maxHeaderCount: 4, maxBodyBytes: 100)
        let cases: [(String, Int)] = [
            ("GET /\(String(repeating: "a", count: 100)) HTTP/1.1\r\n", 414),
            ("GET /\(String(repeating: "a", count: 100))", 414),
            ("GET / HTTP/1.1\r\nHost: x\r\nX: \(String(repeating: "v", count: 200))\r\n\r\n", 431),
            ("GET / HTTP/1.1\r\nHost: x\r\nX: \(String(repeating: "v", count: 200))", 431),
            ("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", 431),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 413),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n\(String(repeating: "a", count: 64))\r\n40\r\n", 413),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\n", 413),
            ("BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
            ("get / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
            ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            ("GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505),
            ("GET /\r\n\r\n", 400),
            ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400),
            ("GET / http/1.1\r\nHost: x\r\n\r\n", 400),
            ("G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET /a\u{7F} HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/1.1\nHost: x\n\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nX: a\u{0}b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n  folded\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3,\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", 400),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 x\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", 400),
            ("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(errorStatus(text, limits: limits), expected, text.debugDescription)
            XCTAssertEqual(errorStatus(text, limits: limits), errorStatusByteByByte(text, limits: limits), text.debugDescription)
        }
    }

    private func errorStatusByteByByte(_ text: String, limits: HTTPRequestParser.Limits) -> Int? {
        for result in parseAll(text, limits: limits, chunked: 1) {
            if case .error(let status, _) = result { return status }
        }
        return nil
    }

    func testParserStaysFailed() {
        var parser = HTTPRequestParser()
        parser.append(contentsOf: "BAD\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        guard case .error(400, _) = parser.next(), case .error(400, _) = parser.next() else {
            return XCTFail("expected a sticky 400")
        }
        XCTAssertFalse(parser.isMidRequest)
    }

    func testMidRequestAndContinueExpectation() {
        var parser = HTTPRequestParser()
        XCTAssertFalse(parser.isMidRequest)
        parser.append(contentsOf: "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8)
        guard case .needMore = parser.next() else { return XCTFail("expected needMore") }
        XCTAssertTrue(parser.isMidRequest)
        XCTAssertTrue(parser.takeContinueExpectation())
        XCTAssertFalse(parser.takeContinueExpectation())
        parser.append(contentsOf: "okGET".utf8)
        guard case .request(let request) = parser.next() else { return XCTFail("expected a request") }
        XCTAssertEqual(request.body, Array("ok".utf8))
        XCTAssertEqual(parser.bufferedByteCount, 3)
        XCTAssertTrue(parser.isMidRequest)
    }
}
