import Foundation
import XCTest

/// What the running agent maps: libcurl (and its TLS, Kerberos and LDAP libraries) only
/// once etcd is configured, since CCurl loads it with dlopen on first use.
final class AgentLibrariesTests: XCTestCase {
    private func maps(of agent: AgentProcess) throws -> String {
        _ = try agent.waitForPort()
        // /proc files have no size; read to the end.
        let file = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/\(agent.process.processIdentifier)/maps"))
        defer { try? file.close() }
        return String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
    }

    func testLibcurlIsNotLoadedWithoutEtcd() throws {
        let agent = try AgentProcess(["run", "--web.listen-address", "127.0.0.1:0"] + AgentProcess.hermetic)
        let maps = try maps(of: agent)
        XCTAssertFalse(maps.contains("libcurl"), maps)
        XCTAssertFalse(maps.contains("libgnutls"), maps)
        XCTAssertTrue(maps.contains("libyaml"), "the config reader's libyaml is linked as usual")
    }

    func testLibcurlIsLoadedWhenEtcdIsConfigured() throws {
        // Nothing listens there; the client is made (and libcurl loaded) at start all the same.
        let agent = try AgentProcess(["run", "--web.listen-address", "127.0.0.1:0", "--etcd.endpoints", "http://127.0.0.1:23998",
                                      "--mesh.overlay-prefixes", "198.51.100.0/24"]
                                     + AgentProcess.hermetic)
        let maps = try maps(of: agent)
        XCTAssertTrue(maps.contains("libcurl.so.4"), maps)
    }
}
