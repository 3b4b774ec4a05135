import Foundation
import Glibc
import XCTest
@testable import HTTPServer

/// Protocol behaviour over real sockets: keep-alive, pipelining, HEAD, HTTP/1.0, bodies.
final class HTTPServerTests: XCTestCase {
    private var server: HTTPServer!
    private var port: UInt16 = 0

    override func setUpWithError() throws {
        (server, port) = try TestServer.start(handler: TestServer.handler)
    }

    override func tearDown() {
        TestServer.stop(server)
    }

    func testKeepAliveServesSeveralRequestsOnOneConnection() throws {
        let client = try TestClient(port: port)
        for _ in 0..<3 {
            try client.send("GET /hello HTTP/1.1\r\nHost: test\r\n\r\n")
            let response = try client.readResponse()
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.text, "hello world")
            XCTAssertEqual(response.header("Content-Length"), "11")
            XCTAssertNil(response.header("Connection"))
        }
        XCTAssertEqual(server.activeConnections, 1)
    }

    func testPipelinedResponsesComeInRequestOrder() throws {
        let client = try TestClient(port: port)
        try client.send("GET /slow?200 HTTP/1.1\r\nHost: t\r\n\r\nGET /echo?b HTTP/1.1\r\nHost: t\r\n\r\n"
            + "POST /echo?c HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody")
        let first = try client.readResponse()
        let second = try client.readResponse()
        let third = try client.readResponse()
        XCTAssertEqual(first.text, "slow 200")
        XCTAssertEqual(second.header("X-Query"), "b")
        XCTAssertEqual(third.header("X-Query"), "c")
        XCTAssertEqual(third.text, "body")
    }

    func testPipelinedResponsesAfterABigBodyKeepTheirOrder() throws {
        // The head and the body of a response go out as two buffers: a response queued while
        // a big body is still being sent (the socket full, the client not reading yet) must
        // follow that body whole, and a HEAD answer carries no body.
        let client = try TestClient(port: port)
        try client.send("GET /big?3000000 HTTP/1.1\r\nHost: t\r\n\r\nHEAD /big?5 HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET /echo?after HTTP/1.1\r\nHost: t\r\n\r\nGET /big?70000 HTTP/1.1\r\nHost: t\r\n\r\n")
        let big = try client.readResponse()
        XCTAssertEqual(big.status, 200)
        XCTAssertEqual(big.header("Content-Length"), "3000000")
        XCTAssertEqual(big.body.count, 3_000_000)
        XCTAssertTrue(big.body.allSatisfy { $0 == 0x61 })
        let head = try client.readResponse(head: true)
        XCTAssertEqual(head.header("Content-Length"), "5")
        XCTAssertEqual(head.body.count, 0)
        XCTAssertEqual(try client.readResponse().header("X-Query"), "after")
        XCTAssertEqual(try client.readResponse().body.count, 70000)
    }

    func testHeadHasGetHeadersButNoBody() throws {
        let client = try TestClient(port: port)
        try client.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let head = try client.readResponse(head: true)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), "11")
        XCTAssertEqual(head.header("Content-Type"), "text/plain; charset=utf-8")
        // Had any body bytes been sent, they would corrupt this next response.
        try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "hello world")
    }

    func testNoContentHasNoBodyAndNoLength() throws {
        let client = try TestClient(port: port)
        try client.send("GET /nocontent HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let noContent = try client.readResponse()
        XCTAssertEqual(noContent.status, 204)
        XCTAssertNil(noContent.header("Content-Length"))
        XCTAssertEqual(try client.readResponse().text, "hello world")
    }

    func testHTTP10ClosesUnlessKeepAliveAsked() throws {
        let plain = try TestClient(port: port)
        try plain.send("GET /echo HTTP/1.0\r\n\r\n")
        let response = try plain.readResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertEqual(response.header("X-Version"), "HTTP/1.0")
        XCTAssertTrue(plain.isClosedByServer())

        let keepAlive = try TestClient(port: port)
        for _ in 0..<2 {
            try keepAlive.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let response = try keepAlive.readResponse()
            XCTAssertEqual(response.text, "hello world")
            XCTAssertEqual(response.header("Connection"), "keep-alive")
        }
    }

    func testConnectionCloseIsHonouredAndEchoed() throws {
        let client = try TestClient(port: port)
        try client.send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(client.isClosedByServer())
    }

    func testHalfClosedClientStillGetsItsResponse() throws {
        let client = try TestClient(port: port)
        try client.send("GET /slow?100 HTTP/1.1\r\nHost: t\r\n\r\n")
        client.shutdownWrite()
        XCTAssertEqual(try client.readResponse().text, "slow 100")
        XCTAssertTrue(client.isClosedByServer())
    }

    func testDateAndServerHeaders() throws {
        let client = try TestClient(port: port)
        try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = try client.readResponse()
        let date = try XCTUnwrap(response.header("Date"))
        XCTAssertNotNil(date.range(of: #"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$"#,
                                   options: .regularExpression), date)
        XCTAssertEqual(response.header("Server"), "bgpmesh-agent")
        XCTAssertEqual(response.headerCount("Date"), 1)
    }

    func testContentLengthAndChunkedRequestBodies() throws {
        let client = try TestClient(port: port)
        try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello")
        usleep(50_000) // the stimulus: the body arrives in two reads
        try client.send(" world")
        XCTAssertEqual(try client.readResponse().text, "hello world")

        try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
        usleep(50_000) // the stimulus: a chunk split across two reads
        try client.send("lo\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
        let chunked = try client.readResponse()
        XCTAssertEqual(chunked.status, 200)
        XCTAssertEqual(chunked.text, "hello world")
        XCTAssertEqual(chunked.header("X-Method"), "POST")
    }

    func testExpectContinueGetsInterimResponse() throws {
        let client = try TestClient(port: port)
        try client.send("PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 100)
        try client.send("abc")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.text, "abc")
    }

    func testRemoteAddressAndHandlerHeadersAreSanitized() throws {
        TestServer.stop(server)
        (server, port) = try TestServer.start { request in
            var response = HTTPResponse.text(200, request.remoteAddress)
            response.headers.add("X-Evil", "a\r\nInjected: yes")
            response.headers.add("Server", "custom")
            return response
        }
        let client = try TestClient(port: port)
        try client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertTrue(response.text.hasPrefix("127.0.0.1:"), response.text)
        XCTAssertNil(response.header("Injected"))
        XCTAssertEqual(response.header("Server"), "custom")
    }

    func testRouterGives404And405WithAllow() throws {
        TestServer.stop(server)
        var router = HTTPRouter()
        router.add(["GET"], "/metrics") { _ in .text(200, "m") }
        (server, port) = try TestServer.start(handler: router.handler)
        let client = try TestClient(port: port)
        try client.send("GET /nope HTTP/1.1\r\nHost: t\r\n\r\nDELETE /metrics HTTP/1.1\r\nHost: t\r\n\r\nHEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 404)
        let notAllowed = try client.readResponse()
        XCTAssertEqual(notAllowed.status, 405)
        XCTAssertEqual(notAllowed.header("Allow"), "GET, HEAD")
        let head = try client.readResponse(head: true)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), "1")
    }

    func testObserverSeesEveryExchange() throws {
        TestServer.stop(server)
        let exchanges = Recorder<HTTPExchange>()
        (server, port) = try TestServer.start(observer: { exchanges.append($0) }, handler: TestServer.handler)
        let client = try TestClient(port: port)
        try client.send("GET /slow?50 HTTP/1.1\r\nHost: t\r\n\r\n")
        _ = try client.readResponse()
        try client.send("GET /bad\u{1} HTTP/1.1\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 400)
        XCTAssertTrue(TestServer.eventually { exchanges.all.count == 2 })
        let all = exchanges.all
        XCTAssertEqual(all[0].method, "GET")
        XCTAssertEqual(all[0].path, "/slow")
        XCTAssertEqual(all[0].status, 200)
        XCTAssertGreaterThanOrEqual(all[0].duration, .milliseconds(40))
        XCTAssertTrue(all[0].remoteAddress.hasPrefix("127.0.0.1:"))
        XCTAssertEqual(all[1], HTTPExchange(method: nil, path: nil, status: 400, duration: .zero, remoteAddress: all[0].remoteAddress))
    }
}
