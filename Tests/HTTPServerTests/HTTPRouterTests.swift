import XCTest
import HTTPServer

final class HTTPRouterTests: XCTestCase {
    private func makeRouter() -> HTTPRouter {
        var router = HTTPRouter()
        router.add(["GET"], "/metrics") { _ in .text(200, "metrics") }
        router.add(["POST", "PUT"], "/api/v1/alerts") { request in .text(202, "got \(request.body.count)") }
        return router
    }

    func testRoutesByExactPath() async {
        let router = makeRouter()
        let response = await router.handle(HTTPRequest(method: "GET", target: "/metrics?x=1"))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, Array("metrics".utf8))
        let notFound = await router.handle(HTTPRequest(method: "GET", target: "/metrics/"))
        XCTAssertEqual(notFound.status, 404)
    }

    func testHeadUsesGetHandler() async {
        let response = await makeRouter().handler(HTTPRequest(method: "HEAD", target: "/metrics"))
        XCTAssertEqual(response.status, 200)
    }

    func testWrongMethodGets405WithAllow() async {
        let router = makeRouter()
        let response = await router.handle(HTTPRequest(method: "DELETE", target: "/metrics"))
        XCTAssertEqual(response.status, 405)
        XCTAssertEqual(response.headers["Allow"], "GET, HEAD")
        let post = await router.handle(HTTPRequest(method: "GET", target: "/api/v1/alerts"))
        XCTAssertEqual(post.status, 405)
        XCTAssertEqual(post.headers["allow"], "POST, PUT")
    }
}
