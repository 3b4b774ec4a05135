import EtcdClient
import Foundation
@testable import MeshAgent
import XCTest

/// `Agent.etcdConfiguration`: the etcd password goes only over https:// (unless allowed) and
/// comes only from a file that neither group nor others may access.
final class AgentEtcdConfigurationTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "agent-etcd-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func file(_ name: String, _ text: String, mode: Int) throws -> String {
        let path = directory + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    private func configuration(_ endpoints: [String], passwordMode: Int = 0o600, caFile: Bool = false,
                               allowInsecure: Bool = false) throws -> AgentConfiguration {
        var c = AgentConfiguration()
        c.etcdEndpoints = endpoints
        c.etcdUsername = "agent"
        c.etcdPasswordFile = try file("etcd.pw", "s3cret\n", mode: passwordMode)
        if caFile { c.etcdCAFile = try file("ca.pem", "a CA\n", mode: 0o644) }
        c.etcdAllowInsecureCredentials = allowInsecure
        c.meshOverlayPrefixes = ["198.51.100.0/24"].compactMap { IPPrefix($0) }
        return c
    }

    private func refusal(_ c: AgentConfiguration, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let made = try Agent.etcdConfiguration(c)
            XCTFail("accepted: \(made.endpoints) \(made.credentials.map(\.description) ?? "no credentials")", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testCredentialsOverPlainHTTPAreRefusedNamingTheEndpointAndTheSetting() throws {
        let message = refusal(try configuration(["https://192.0.2.1:2379", "http://192.0.2.2:2379"], caFile: true))
        XCTAssertTrue(message.contains("http://192.0.2.2:2379"), message)
        XCTAssertTrue(message.contains("etcd.allow-insecure-credentials"), message)
        XCTAssertFalse(message.contains("s3cret"), message)
        // host:port without TLS means http://.
        let bare = refusal(try configuration(["192.0.2.3:2379"]))
        XCTAssertTrue(bare.contains("http://192.0.2.3:2379"), bare)
    }

    func testCredentialsOverHTTPSOrWithTheSettingAreAccepted() throws {
        let tls = try Agent.etcdConfiguration(try configuration(["https://192.0.2.1:2379", "192.0.2.2:2379"], caFile: true))
        XCTAssertEqual(tls.credentials, EtcdClient.Credentials(username: "agent", password: "s3cret"))
        XCTAssertEqual(try tls.validatedEndpoints(), ["https://192.0.2.1:2379", "https://192.0.2.2:2379"])
        let allowed = try Agent.etcdConfiguration(try configuration(["http://192.0.2.2:2379"], allowInsecure: true))
        XCTAssertEqual(allowed.credentials?.password, "s3cret")
        // Without credentials there is nothing to protect: http:// is fine.
        var anonymous = AgentConfiguration()
        anonymous.etcdEndpoints = ["http://192.0.2.2:2379"]
        XCTAssertNil(try Agent.etcdConfiguration(anonymous).credentials)
    }

    func testAPasswordFileThatGroupOrOthersCanAccessIsRefused() throws {
        for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
            let c = try configuration(["https://192.0.2.1:2379"], passwordMode: mode, caFile: true)
            let message = refusal(c)
            XCTAssertTrue(message.contains("etcd.password-file \(c.etcdPasswordFile!)"), message)
            XCTAssertTrue(message.contains("mode \(String(mode, radix: 8))"), message)
            XCTAssertTrue(message.contains("chmod 600"), message)
        }
        for mode in [0o600, 0o400] {
            let made = try Agent.etcdConfiguration(try configuration(["https://192.0.2.1:2379"], passwordMode: mode, caFile: true))
            XCTAssertEqual(made.credentials?.password, "s3cret", "mode \(String(mode, radix: 8))")
        }
    }

    func testValidateRefusesInsecureCredentialsAtStart() throws {
        XCTAssertThrowsError(try Agent.validate(try configuration(["http://127.0.0.1:23999"]))) { error in
            XCTAssertTrue("\(error)".contains("etcd.allow-insecure-credentials"), "\(error)")
        }
        XCTAssertThrowsError(try Agent.validate(try configuration(["http://127.0.0.1:23999"], passwordMode: 0o644, allowInsecure: true))) { error in
            XCTAssertTrue("\(error)".contains("chmod 600"), "\(error)")
        }
    }
}
