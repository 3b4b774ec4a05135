import Glibc
import POSIXSupport

/// The files the agent owns in a tinc net directory: `hosts/<peer>` and `conf.d/<file>.conf`.
/// Every write goes through `TincAtomicFile`, so an unchanged file keeps its mtime.
extension TincConfigDirectory {
    /// The bytes of `hosts/<name>`; nil when it is missing, unreadable or over `maxFileBytes`.
    public func hostFileBytes(_ name: TincNodeName) -> [UInt8]? {
        try? RegularFile.read(name.hostFilePath(netDirectory: path), limit: maxFileBytes)
    }

    /// Writes `hosts/<name>` (creating `hosts/`), unless it already holds exactly `text`.
    @discardableResult
    public func writeHostFile(_ name: TincNodeName, _ text: String) throws(TincFileError) -> TincAtomicFile.Outcome {
        try Self.ensureDirectory(path + "/hosts")
        return try TincAtomicFile.write(text, to: name.hostFilePath(netDirectory: path))
    }

    /// Removes `hosts/<name>`; false when there was none.
    public func removeHostFile(_ name: TincNodeName) throws(TincFileError) -> Bool {
        let filePath = name.hostFilePath(netDirectory: path)
        guard unlink(filePath) == 0 else {
            if errno == ENOENT { return false }
            throw .system(path: filePath, call: "unlink", errno: errno)
        }
        return true
    }

    /// Host files whose bytes start with `marker` (the agent's own; the others are the operator's).
    /// A missing or unreadable `hosts/` lists none.
    public func hostNames(startingWith marker: String) -> [TincNodeName] {
        let prefix = Array(marker.utf8)
        let names = (try? hostNames()) ?? []
        return names.filter { hostFileBytes($0)?.starts(with: prefix) == true }
    }

    /// `conf.d/<file>`; `file` must be a plain `*.conf` name.
    public func confDPath(_ file: String) throws(TincFileError) -> String {
        guard file.hasSuffix(".conf"), file.utf8.count > 5, !file.contains("/"), !file.utf8.contains(0), !file.hasPrefix(".") else {
            throw .invalidName(file)
        }
        return path + "/conf.d/" + file
    }

    /// The bytes of `conf.d/<file>`; nil when it is missing, unreadable or over `maxFileBytes`.
    public func confDBytes(_ file: String) -> [UInt8]? {
        guard let filePath = try? confDPath(file) else { return nil }
        return try? RegularFile.read(filePath, limit: maxFileBytes)
    }

    /// Writes `conf.d/<file>` (creating `conf.d/`), unless it already holds exactly `text`.
    @discardableResult
    public func writeConfD(_ file: String, _ text: String) throws(TincFileError) -> TincAtomicFile.Outcome {
        let filePath = try confDPath(file)
        try Self.ensureDirectory(path + "/conf.d")
        return try TincAtomicFile.write(text, to: filePath)
    }

    /// The `ConnectTo` names `conf.d/<file>` holds; none when it is missing or does not parse.
    public func connectTo(inConfD file: String) -> [TincNodeName] {
        guard let bytes = confDBytes(file), let filePath = try? confDPath(file),
              let entries = try? TincConfigParser.parse(String(decoding: bytes, as: UTF8.self), file: filePath) else { return [] }
        return entries.filter { $0.isVariable("ConnectTo") }.compactMap { TincNodeName($0.value) }
    }

    private static func ensureDirectory(_ directory: String) throws(TincFileError) {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw .system(path: directory, call: "mkdir", errno: errno) }
    }
}
