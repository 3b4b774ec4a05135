import Foundation

extension RegistryTestRecords {
    /// `<root>/<name>`: a tinc net directory holding only the fixture node's own host file and its
    /// private key (mode 600, as tincd -K writes it, for signing its record), as the seed's nodes did.
    static func makeNodeDirectory(root: String, _ name: String) throws -> String {
        let dir = "\(root)/\(name)"
        try FileManager.default.createDirectory(atPath: dir + "/hosts", withIntermediateDirectories: true)
        try "Name = \(name)\nMode = switch\nInterface = none0\n".write(toFile: dir + "/tinc.conf", atomically: true, encoding: .utf8)
        try Fixture.text("registry/hosts/\(name)").write(toFile: dir + "/hosts/\(name)", atomically: true, encoding: .utf8)
        try Fixture.text("registry/keys/\(name)/rsa_key.priv").write(toFile: dir + "/rsa_key.priv", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: dir + "/rsa_key.priv")
        return dir
    }
}
