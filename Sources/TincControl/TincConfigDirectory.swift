import POSIXSupport
import Glibc

/// Reads a tinc net directory (`/etc/tinc/<net>`): tinc.conf, conf.d/*.conf and hosts/.
public struct TincConfigDirectory: Sendable {
    public let path: String
    /// Host files larger than this are refused (a real one is about 500 bytes).
    public static let defaultMaxFileBytes = 1 << 20
    public var maxFileBytes = defaultMaxFileBytes

    public init(path: String) {
        self.path = path
    }

    /// tinc.conf plus conf.d/*.conf (a missing conf.d is fine; a missing tinc.conf is not).
    public func serverConfig() throws(TincDirectoryError) -> TincServerConfig {
        let confPath = path + "/tinc.conf"
        let tincConf = try text(confPath)
        var confD: [(path: String, text: String)] = []
        for name in try list(path + "/conf.d", missingIsEmpty: true) where name.hasSuffix(".conf") && name.utf8.count > 5 {
            confD.append((path + "/conf.d/" + name, try text(path + "/conf.d/" + name)))
        }
        do {
            return try TincServerConfig.parse(tincConf: tincConf, tincConfPath: confPath, confD: confD)
        } catch {
            throw .parse(error)
        }
    }

    /// Names of the files in hosts/ that are valid node names (others, like editor backups
    /// `node1~`, are not host files for tinc and are skipped), sorted.
    public func hostNames() throws(TincDirectoryError) -> [TincNodeName] {
        try list(path + "/hosts", missingIsEmpty: true).compactMap { TincNodeName($0) }.sorted()
    }

    /// One host file, parsed.
    public func hostFile(_ name: TincNodeName) throws(TincDirectoryError) -> TincHostFile {
        let filePath = name.hostFilePath(netDirectory: path)
        let content = try text(filePath)
        do {
            return try TincHostFile(name: name.rawValue, text: content, path: filePath)
        } catch {
            throw .parse(error)
        }
    }

    /// Every host file; a file that cannot be read or parsed is reported as a failure for that
    /// name and does not stop the others.
    public func hostFiles() throws(TincDirectoryError) -> [(name: TincNodeName, result: Result<TincHostFile, TincDirectoryError>)] {
        var out: [(name: TincNodeName, result: Result<TincHostFile, TincDirectoryError>)] = []
        for name in try hostNames() {
            do throws(TincDirectoryError) {
                out.append((name, .success(try hostFile(name))))
            } catch {
                out.append((name, .failure(error)))
            }
        }
        return out
    }

    private func text(_ filePath: String) throws(TincDirectoryError) -> String {
        do {
            return String(decoding: try RegularFile.read(filePath, limit: maxFileBytes), as: UTF8.self)
        } catch {
            throw .file(TincFileError(error))
        }
    }

    private func list(_ directory: String, missingIsEmpty: Bool) throws(TincDirectoryError) -> [String] {
        guard let handle = opendir(directory) else {
            if missingIsEmpty && errno == ENOENT { return [] }
            throw .file(.system(path: directory, call: "opendir", errno: errno))
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle), names.count < 100_000 {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// A failure reading a tinc net directory: the file system, or a file tincd would refuse.
public enum TincDirectoryError: Error, Sendable, Equatable, CustomStringConvertible {
    case file(TincFileError)
    case parse(TincParseError)

    public var description: String {
        switch self {
        case .file(let error): error.description
        case .parse(let error): error.description
        }
    }
}
