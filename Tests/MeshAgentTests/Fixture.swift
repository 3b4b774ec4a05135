import Foundation

/// Reads a file captured from a real system, from Tests/MeshAgentTests/Fixtures.
enum Fixture {
    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    static func text(_ path: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
    }

    /// The `tincd -K` keys captured once, in Tests/TincControlTests/Fixtures/tinc-keys
    /// (scripts/capture-tinc-keys.sh), read from there rather than kept as a second copy.
    static var tincKeysDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("TincControlTests/Fixtures/tinc-keys")
    }

    /// `tinc-keys/<path>` of the TincControlTests fixtures.
    static func tincKeyText(_ path: String) throws -> String {
        try String(contentsOf: tincKeysDirectory.appendingPathComponent(path), encoding: .utf8)
    }
}
