import Foundation
import Glibc
import XCTest
@testable import MeshAgent

final class BGPPeersPasswordTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "bgpmesh-password-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func file(_ text: String, mode: mode_t = 0o600) throws -> String {
        let path = directory + "/password"
        try? FileManager.default.removeItem(atPath: path)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(path, mode), 0)
        return path
    }

    func testOneTrailingNewlineIsDropped() throws {
        XCTAssertEqual(try BGPPeersPassword.literal(path: file("s3cret pass\n")), "\"s3cret pass\"")
        XCTAssertEqual(try BGPPeersPassword.literal(path: file("s3cret\r\n", mode: 0o400)), "\"s3cret\"")
    }

    func testRefusalsNameTheFileAndTheRuleNeverThePassword() throws {
        let cases: [(String, mode_t, String)] = [
            ("hunter2", 0o644, "mode 644 lets group or others read the password; chmod 600 it"),
            ("hunter2", 0o640, "mode 640 lets group or others read the password; chmod 600 it"),
            ("hun\"ter2", 0o600, "holds a quote, a backslash, a control character or invalid UTF-8"),
            ("hun\\ter2", 0o600, "holds a quote"),
            ("hun\tter2", 0o600, "holds a quote"),
            ("\n", 0o600, "the file is empty"),
            (String(repeating: "h", count: 81), 0o600, "longer than 80 bytes"),
        ]
        for (text, mode, reason) in cases {
            let path = try file(text, mode: mode)
            XCTAssertThrowsError(try BGPPeersPassword.literal(path: path), text.debugDescription) { error in
                let description = "\(error)"
                XCTAssertTrue(description.hasPrefix("bird.password-file \(path): "), description)
                XCTAssertTrue(description.contains(reason), description)
                if text.count > 2 { XCTAssertFalse(description.contains(text), "the password leaked into \(description)") }
            }
        }
        XCTAssertEqual(try BGPPeersPassword.literal(path: file(String(repeating: "h", count: 80))).count, 82)
    }

    func testAgentRefusesAnUnusablePasswordFileAtStart() throws {
        var configuration = AgentConfiguration()
        configuration.birdPasswordFile = try file("hunter2", mode: 0o644)
        XCTAssertNoThrow(try Agent.validate(configuration), "without bird.peers-file the password file is not used")
        configuration.birdPeersFile = directory + "/peers.conf"
        XCTAssertThrowsError(try Agent.validate(configuration)) { error in
            XCTAssertTrue("\(error)".contains("chmod 600"), "\(error)")
            XCTAssertFalse("\(error)".contains("hunter2"))
        }
        XCTAssertEqual(chmod(configuration.birdPasswordFile!, 0o600), 0)
        XCTAssertNoThrow(try Agent.validate(configuration))
    }

    func testMissingFile() {
        XCTAssertThrowsError(try BGPPeersPassword.literal(path: directory + "/nope")) { error in
            XCTAssertTrue("\(error)".contains("No such file or directory"), "\(error)")
        }
    }
}
