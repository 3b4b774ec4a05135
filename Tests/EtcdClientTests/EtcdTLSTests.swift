@testable import EtcdClient
import Foundation
import TestSupport
import XCTest

/// etcd with TLS and `--client-cert-auth`, on a throwaway CA made with the openssl CLI.
final class EtcdTLSTests: XCTestCase {
    private var cluster: EtcdTestCluster?
    private var clients: [EtcdClient] = []
    private static let openssl = "/usr/bin/openssl"

    override func tearDown() {
        for client in clients { client.shutdown() }
        clients = []
        cluster?.stop()
        cluster = nil
        super.tearDown()
    }

    /// ca.crt, server.crt/key (IP SAN 127.0.0.1) and client.crt/key, EC P-256, valid one day.
    private func makeCertificates(in directory: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.openssl) else {
            throw XCTSkip("SKIPPED: \(Self.openssl) is missing (Debian: apt-get install openssl); etcd TLS tests did not run")
        }
        func ssl(_ arguments: [String]) throws { try runTool(Self.openssl, arguments, directory: directory) }
        try "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
            .write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
            .write(toFile: directory + "/client.ext", atomically: true, encoding: .utf8)
        try ssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"])
        try ssl(["req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "1", "-subj", "/CN=bgpmesh-test-ca", "-out", "ca.crt"])
        for (name, subject) in [("server", "/CN=etcd-test-server"), ("client", "/CN=bgpmesh-agent")] {
            try ssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "\(name).key"])
            try ssl(["req", "-new", "-key", "\(name).key", "-subj", subject, "-out", "\(name).csr"])
            try ssl(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-sha256",
                     "-extfile", "\(name).ext", "-out", "\(name).crt"])
        }
    }

    func testMutualTLS() async throws {
        let cluster = try EtcdTestCluster(members: 1, scheme: "https")
        self.cluster = cluster
        let dir = cluster.directory
        try makeCertificates(in: dir)
        cluster.extraArguments = ["--cert-file", dir + "/server.crt", "--key-file", dir + "/server.key",
                                  "--trusted-ca-file", dir + "/ca.crt", "--client-cert-auth"]
        let tls = EtcdClient.TLS(caFile: dir + "/ca.crt", certFile: dir + "/client.crt", keyFile: dir + "/client.key")
        try cluster.start()
        try await cluster.waitHealthy(tls: tls)

        // host:port with TLS configured means https.
        let log = ObserverLog()
        let client = try EtcdClient(configuration: .init(endpoints: ["127.0.0.1:\(cluster.members[0].clientPort)"], tls: tls,
                                                         connectTimeout: .seconds(1), requestTimeout: .seconds(3)), observer: log.observer)
        clients.append(client)
        XCTAssertEqual(client.endpoints, [cluster.endpoint(0)])
        let watch = WatchRecorder(client.watch(.prefix("/tls/")))
        defer { watch.cancel() }
        await watch.wait("the watch over TLS is created") { $0.createdCount == 1 }
        try await client.put("/tls/a", value: "secret")
        let stored = try await client.get("/tls/a")?.valueString
        XCTAssertEqual(stored, "secret")
        let status = try await client.status().version.hasPrefix("3.4.")
        XCTAssertTrue(status)
        await watch.wait("the event over TLS") { $0.events.count == 1 }

        // No client certificate: etcd ends the handshake.
        let anonymous = try EtcdClient(configuration: .init(endpoints: cluster.endpoints, tls: .init(caFile: dir + "/ca.crt"),
                                                            connectTimeout: .seconds(1), requestTimeout: .seconds(2)))
        clients.append(anonymous)
        do {
            _ = try await anonymous.range(.key("/tls/a"))
            XCTFail("etcd accepted a client without a certificate")
        } catch {
            guard case .transport("range", _, let code, let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue([35, 56].contains(code), "curl code \(code): \(message)")
        }

        // The system CAs do not know the throwaway CA.
        let untrusting = try EtcdClient(configuration: .init(endpoints: cluster.endpoints, tls: .init(certFile: dir + "/client.crt", keyFile: dir + "/client.key"),
                                                             connectTimeout: .seconds(1), requestTimeout: .seconds(2)))
        clients.append(untrusting)
        do {
            _ = try await untrusting.put("/tls/b", value: "x")
            XCTFail("the client trusted an unknown CA")
        } catch {
            guard case .transport("put", _, 60, _) = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(log.count("put", success: true), 1)
    }
}
