import HTTPServer
import Logging
@testable import MeshAgent
import Synchronization

/// A `RepairService` that records every call and answers what the test tells it to.
actor RecordingRepairService: RepairService {
    private(set) var submitted: [RepairRequest] = []
    private(set) var cancelled: [String] = []
    private var nextID: UInt64 = 0
    /// nil: queue everything; else skip with this reason.
    var skipReason: String?
    var status: [UInt8] = Array(#"{"node":"node1","health":{"score":1,"reasons":[]},"actions":[]}"#.utf8)

    func submit(_ request: RepairRequest) async -> RepairSubmission {
        submitted.append(request)
        if let skipReason { return .skipped(reason: skipReason) }
        nextID += 1
        return .queued(id: nextID)
    }

    func cancel(alertKey: String) async {
        cancelled.append(alertKey)
    }

    func statusJSON() async -> [UInt8] { status }

    func skip(with reason: String?) { skipReason = reason }
}

/// The real HTTP server on an ephemeral loopback port, serving `APIRoutes` and nothing else.
final class APITestServer: Sendable {
    let service = RecordingRepairService()
    let metrics = WebhookMetrics()
    let server: HTTPServer
    let port: UInt16
    static let token = "test-token-0123456789abcdef"

    /// `maxBodyBytes` above the API's own limits, so a 413 comes from the endpoint's check.
    init(nodeName: String? = "node1", token: String? = APITestServer.token, maxBodyBytes: Int = 4 << 20,
         rotation: KeyRotation? = nil) throws {
        var logger = Logger(label: "api-test")
        logger.logLevel = .critical
        var router = HTTPRouter()
        let name = nodeName
        APIRoutes.register(into: &router, service: service, nodeName: { name }, token: try token.map { try WebhookToken($0) },
                           metrics: metrics, logger: logger, rotation: rotation)
        var configuration = HTTPServerConfiguration(listenAddresses: ["127.0.0.1:0"])
        configuration.maxBodyBytes = maxBodyBytes
        server = HTTPServer(configuration: configuration, logger: logger, handler: router.handler)
        try server.start()
        guard let address = server.boundAddresses.first, let colon = address.lastIndex(of: ":"),
              let port = UInt16(address[address.index(after: colon)...]) else {
            throw AgentTestError("no bound address: \(server.boundAddresses)")
        }
        self.port = port
    }

    func stop() async {
        await server.shutdown(gracePeriod: .seconds(1))
    }

    static var bearer: [String: String] { ["Authorization": "Bearer \(token)"] }

    func post(_ path: String, _ body: [UInt8], headers: [String: String] = APITestServer.bearer) throws -> RawHTTPClient.Response {
        try RawHTTPClient.request(port: port, method: "POST", path: path, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a },
                                  body: body)
    }
}
