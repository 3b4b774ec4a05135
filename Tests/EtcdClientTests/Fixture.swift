import Foundation
import XCTest

/// Reply bodies captured from etcd 3.4.23 by scripts/capture-etcd.sh, named after the request.
enum Fixture {
    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }
}
