import Foundation
import Glibc
import XCTest

/// Raw bytes captured from tinc 1.0.36 in the lab (scripts/capture-tinc.sh), and synthetic
/// tinc 1.1 transcripts written from the format strings of tinc's source.
enum Fixture {
    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }

    /// A fresh temporary directory, removed by the caller's tearDown.
    static func temporaryDirectory(_ tag: String) throws -> String {
        let path = "/tmp/tinc-test-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Copies a fixture directory tree to `destination`.
    static func copyTree(_ name: String, to destination: String) throws {
        try FileManager.default.copyItem(atPath: path(name), toPath: destination)
    }
}
