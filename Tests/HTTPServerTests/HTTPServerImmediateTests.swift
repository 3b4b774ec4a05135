import Foundation
import Glibc
import Synchronization
import XCTest
@testable import HTTPServer

/// Immediate routes: answered on the event loop, in order with async ones, without recursion.
final class HTTPServerImmediateTests: XCTestCase {
    private var server: HTTPServer!
    private var port: UInt16 = 0
    /// Counts async handler runs (a class, so the handler closure can share it).
    private final class Counter: Sendable {
        let value = Mutex(0)
    }
    private let asyncCalls = Counter()

    override func setUpWithError() throws {
        var router = HTTPRouter()
        let calls = asyncCalls
        router.addImmediate(["GET"], "/fast") { request in .text(200, "fast \(request.query ?? "")") }
        router.add(["GET"], "/slow") { _ in
            calls.value.withLock { $0 += 1 }
            try? await Task.sleep(for: .milliseconds(300)) // the stimulus: a slow handler
            return .text(200, "slow")
        }
        var configuration = HTTPServerConfiguration(listenAddresses: ["127.0.0.1:0"])
        configuration.readTimeout = .seconds(5)
        server = HTTPServer(configuration: configuration, logger: TestServer.logger,
                            immediate: router.immediateHandler, handler: router.handler)
        try server.start()
        port = TestServer.port(of: server.boundAddresses[0])
    }

    override func tearDown() {
        TestServer.stop(server)
    }

    func testThousandsOfPipelinedImmediateRequestsNeedNoStack() throws {
        // 3000 requests in one go: each is answered inside the loop's processing of the
        // same buffer, which must iterate, not recurse.
        let client = try TestClient(port: port)
        let count = 3000
        var batch = ""
        for i in 0..<count { batch += "GET /fast?\(i) HTTP/1.1\r\nHost: t\r\n\r\n" }
        try client.send(batch)
        for i in 0..<count {
            let response = try client.readResponse()
            XCTAssertEqual(response.text, "fast \(i)")
            if response.text != "fast \(i)" { break }
        }
    }

    func testImmediateAndAsyncResponsesKeepRequestOrder() throws {
        let client = try TestClient(port: port)
        try client.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /fast?x HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "slow")
        XCTAssertEqual(try client.readResponse().text, "fast x")
        XCTAssertEqual(try client.readResponse().status, 404)
        XCTAssertEqual(asyncCalls.value.withLock { $0 }, 1)
    }

    func testImmediateRouteIsServedWhileAnAsyncHandlerIsBusy() throws {
        let slow = try TestClient(port: port)
        try slow.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        let fast = try TestClient(port: port)
        try fast.send("GET /fast HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try fast.readResponse().status, 200)
        XCTAssertFalse(slow.hasUnreadInput, "the immediate route waited for the busy async handler")
        XCTAssertEqual(try slow.readResponse().text, "slow")
    }

    func testRouterAnswers405ImmediatelyWithAllow() throws {
        var router = HTTPRouter()
        router.addImmediate(["GET"], "/a") { _ in .text(200, "a") }
        router.add(["POST"], "/a") { _ in .text(200, "posted") }
        let get = router.immediateResponse(HTTPRequest(method: "GET", target: "/a"))
        XCTAssertEqual(get?.status, 200)
        XCTAssertNil(router.immediateResponse(HTTPRequest(method: "POST", target: "/a")), "async route: no immediate answer")
        let put = router.immediateResponse(HTTPRequest(method: "PUT", target: "/a"))
        XCTAssertEqual(put?.status, 405)
        XCTAssertEqual(put?.headers["Allow"], "GET, HEAD, POST")
        XCTAssertEqual(router.immediateResponse(HTTPRequest(method: "HEAD", target: "/a"))?.status, 200)
    }
}
