import Foundation

/// Network namespace and link plumbing through iproute2.
public enum Netns {
    static let ip = "/usr/sbin/ip"

    /// Runs `ip` with the arguments, failing with its stderr.
    static func ip(_ args: String...) throws(LabError) {
        try Command.run([ip] + args, timeout: 10, check: true)
    }

    /// Runs argv inside a namespace.
    @discardableResult
    public static func exec(_ ns: String, _ argv: [String], timeout: Double = 15,
                            check: Bool = false) throws(LabError) -> CommandResult {
        try Command.run([ip, "netns", "exec", ns] + argv, timeout: timeout, check: check)
    }

    /// Namespaces whose name starts with the lab prefix.
    public static func labNamespaces() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        return names.filter { $0.hasPrefix(LabNames.prefix) }.sorted()
    }

    /// Links in the root namespace whose name starts with the lab prefix.
    public static func labRootLinks() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []
        return names.filter { $0.hasPrefix(LabNames.prefix) }.sorted()
    }

    /// Pids of the processes whose network namespace is `ns`.
    public static func pids(in ns: String) -> [Int32] {
        guard let r = try? Command.run([ip, "netns", "pids", ns], timeout: 10), r.succeeded else { return [] }
        return r.stdout.split(separator: "\n").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }

    public static func add(_ ns: String) throws(LabError) {
        try ip("netns", "add", ns)
        try ip("-n", ns, "link", "set", "lo", "up")
    }

    /// A veth with one end in `ns` (named `inner`, with `address`) and the other on the bridge.
    public static func plugIntoBridge(ns: String, inner: String, port: String, address: String) throws(LabError) {
        try ip("link", "add", "name", inner, "netns", ns, "type", "veth",
               "peer", "name", port, "netns", LabNames.bridgeNamespace)
        try ip("-n", LabNames.bridgeNamespace, "link", "set", port, "master", LabNames.bridge)
        try ip("-n", LabNames.bridgeNamespace, "link", "set", port, "up")
        try ip("-n", ns, "addr", "add", address, "dev", inner)
        try ip("-n", ns, "link", "set", inner, "up")
    }

    /// Checks that root can create and delete a namespace here.
    public static func probe() throws(LabError) {
        guard FileManager.default.isExecutableFile(atPath: ip) else {
            throw .missingTool(name: "ip", package: "iproute2")
        }
        let ns = "\(LabNames.prefix)probe\(getpid())"
        let r = try Command.run([ip, "netns", "add", ns], timeout: 10)
        guard r.succeeded else { throw .netnsUnavailable(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)) }
        _ = try? Command.run([ip, "netns", "del", ns], timeout: 10)
    }
}
