@testable import EtcdClient
import Foundation
import TestSupport
import XCTest

/// etcd auth (user root with role root, user agent with read-write on /bgpmesh/), simple
/// tokens with a 2-second TTL so that a token expires during the test.
final class EtcdAuthTests: XCTestCase {
    private var cluster: EtcdTestCluster?
    private var clients: [EtcdClient] = []

    override func tearDown() {
        for client in clients { client.shutdown() }
        clients = []
        cluster?.stop()
        cluster = nil
        super.tearDown()
    }

    private func startEtcd() async throws -> EtcdTestCluster {
        let cluster = try EtcdTestCluster(members: 1, extraArguments: ["--auth-token", "simple", "--auth-token-ttl", "2"])
        self.cluster = cluster
        try cluster.start()
        try await cluster.waitHealthy()
        return cluster
    }

    private func enableAuth(_ cluster: EtcdTestCluster) throws {
        try cluster.etcdctl(["user", "add", "root:rootpw"])
        try cluster.etcdctl(["role", "add", "root"])
        try cluster.etcdctl(["user", "grant-role", "root", "root"])
        try cluster.etcdctl(["user", "add", "agent:agentpw"])
        try cluster.etcdctl(["role", "add", "agent"])
        try cluster.etcdctl(["role", "grant-permission", "agent", "readwrite", "/bgpmesh/", "--prefix=true"])
        try cluster.etcdctl(["user", "grant-role", "agent", "agent"])
        try cluster.etcdctl(["auth", "enable"])
    }

    private func client(_ cluster: EtcdTestCluster, user: String?, password: String = "agentpw", observer: EtcdClient.Observer? = nil) throws -> EtcdClient {
        let credentials = user.map { EtcdClient.Credentials(username: $0, password: password) }
        let client = try EtcdClient(configuration: .init(endpoints: cluster.endpoints, credentials: credentials,
                                                         connectTimeout: .seconds(1), requestTimeout: .seconds(3)), observer: observer)
        clients.append(client)
        return client
    }

    func testTokenIsRenewedWhenEtcdRefusesIt() async throws {
        let etcd = try await startEtcd()
        try enableAuth(etcd)
        let log = ObserverLog()
        let client = try client(etcd, user: "agent", observer: log.observer)

        try await client.put("/bgpmesh/a", value: "1")
        let stored = try await client.get("/bgpmesh/a")?.valueString
        XCTAssertEqual(stored, "1")
        XCTAssertEqual(log.count("auth", success: true), 1, "one token for both calls")
        let firstToken = try XCTUnwrap(client.cachedToken)

        do {
            try await client.put("/elsewhere", value: "x")
            XCTFail("agent may not write outside /bgpmesh/")
        } catch {
            XCTAssertTrue(error.isPermissionDenied, "\(error)")
            XCTAssertEqual(error.grpcCode, .permissionDenied)
        }
        XCTAssertEqual(log.count("auth"), 1, "permission denied is not a token problem")

        // The token expires (TTL 2 s, unused); etcd answers 401 "invalid auth token" and the
        // client authenticates again and repeats the call.
        try await Task.sleep(for: .milliseconds(3500)) // the stimulus: etcd's 2 s token TTL runs out
        let count = try await client.range(.prefix("/bgpmesh/")).count
        XCTAssertEqual(count, 1)
        XCTAssertEqual(log.count("auth", success: true), 2)
        XCTAssertNotEqual(client.cachedToken, firstToken)
        XCTAssertEqual(log.count("range", success: true), 2)

        // A watch started with an expired token: etcd cancels it in a 200 stream
        // ("code = Unauthenticated"); the watch renews the token and reconnects.
        try await Task.sleep(for: .milliseconds(3500)) // the stimulus: etcd's 2 s token TTL runs out
        let watch = WatchRecorder(client.watch(.prefix("/bgpmesh/")))
        defer { watch.cancel() }
        await watch.wait("the watch is created with a new token") { $0.createdCount == 1 }
        XCTAssertEqual(log.count("auth", success: true), 3)
        try await client.put("/bgpmesh/b", value: "2")
        await watch.wait("the event") { $0.events.count == 1 }
        XCTAssertEqual(log.count("watch", success: false), 1)

        // A watch on a key the user may not read is canceled for good.
        let denied = WatchRecorder(client.watch(.key("/elsewhere")))
        await denied.wait("the denied watch ends") { $0.finished }
        guard case .watchCanceled(_, let reason)? = denied.error else { return XCTFail("\(String(describing: denied.anyError))") }
        XCTAssertTrue(reason.contains("PermissionDenied"), reason)
    }

    func testMissingOrWrongCredentials() async throws {
        let etcd = try await startEtcd()
        try enableAuth(etcd)
        let anonymous = try client(etcd, user: nil)
        do {
            _ = try await anonymous.range(.key("/bgpmesh/a"))
            XCTFail("etcd served a client without a token")
        } catch {
            XCTAssertEqual(error.serverMessage, "etcdserver: user name is empty")
        }
        let wrong = try client(etcd, user: "agent", password: "wrong")
        do {
            try await wrong.authenticate()
            XCTFail("a wrong password was accepted")
        } catch {
            guard case .authenticationFailed(_, let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("invalid user ID or password"), message)
        }
        do {
            _ = try await wrong.range(.key("/bgpmesh/a"))
            XCTFail("a wrong password was accepted")
        } catch {
            guard case .authenticationFailed = error else { return XCTFail("\(error)") }
        }
    }

    func testCredentialsBeforeAndAfterAuthIsEnabled() async throws {
        let etcd = try await startEtcd()
        let client = try client(etcd, user: "agent")
        // Auth not enabled yet: etcd says so, and the client sends no token.
        try await client.put("/bgpmesh/early", value: "1")
        XCTAssertEqual(client.cachedToken, "")
        try enableAuth(etcd)
        // Now etcd wants a user ("user name is empty"): the client authenticates and retries.
        let early = try await client.get("/bgpmesh/early")?.valueString
        XCTAssertEqual(early, "1")
        XCTAssertNotEqual(client.cachedToken ?? "", "")
    }
}
