#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import TincControl

/// The ledger of the host files this agent wrote (issue 13: a file the agent did not write is not
/// its own; a marker line proves nothing). Per node name it keeps the SHA-256 of the bytes the
/// agent last wrote to `hosts/<name>`, as `owned-files.json` in the state directory (mode 0600,
/// directory 0700, written atomically). Without a directory it lives in memory only (tests).
///
/// A missing file is an empty ledger (a first start). A file that cannot be read, is too large,
/// that group or others may access, or that does not parse leaves the ledger broken: it then owns
/// nothing and refuses to record anything (saving would overwrite the evidence), so every host
/// file that exists is treated as the operator's until the file is repaired or removed.
struct OwnedFiles: Sendable {
    static let fileName = "owned-files.json"
    /// About 100 bytes per entry: 1 MiB is ten times `registry.max-nodes`.
    static let maxFileBytes = 1 << 20
    static let version = 1

    /// Nil: memory only.
    let directory: String?
    /// SHA-256 (64 lowercase hex digits) of the bytes last written, by node name.
    private(set) var hashes: [TincNodeName: String] = [:]
    /// Why the file on disk could not be read; while set, nothing is owned and nothing is saved.
    private(set) var broken: OwnedFilesError?
    /// An entry was removed but the removal could not be saved yet.
    private(set) var unsaved = false
    /// The failure last logged, so a full disk is logged once, not every round.
    private var reported: OwnedFilesError?
    /// The identity of the broken file last read (device, inode, size, mtime), so it is read
    /// again only once it changed.
    private var brokenSignature: [Int]?

    var path: String? { directory.map { $0 + "/" + Self.fileName } }

    /// An empty ledger (nothing is read).
    init(directory: String?) {
        self.directory = directory
    }

    /// The ledger in `directory` (or an empty one in memory); a file that cannot be used gives a
    /// broken ledger (see `broken`), never an empty one.
    static func load(directory: String?) -> OwnedFiles {
        var ledger = OwnedFiles(directory: directory)
        ledger.read()
        return ledger
    }

    /// Whether the agent wrote `hosts/<name>`.
    func owns(_ name: TincNodeName) -> Bool {
        broken == nil && hashes[name] != nil
    }

    /// The names the ledger holds (none while broken).
    var names: Set<TincNodeName> {
        broken == nil ? Set(hashes.keys) : []
    }

    /// SHA-256 of `bytes` as 64 lowercase hex digits (libcrypto); nil only without libcrypto.
    static func hash(_ bytes: [UInt8]) -> String? {
        TincHash.sha256Hex(bytes)
    }

    /// Notes that the agent is about to write `bytes` to `hosts/<name>`, and saves the ledger
    /// before the file is written: a crash or a failed host file write then leaves an entry for
    /// a file the agent was going to write (still its own, and written again on the next
    /// round), never a written file that the ledger does not know. When the save fails the
    /// entry is taken back and the host file must not be written.
    mutating func record(_ name: TincNodeName, bytes: [UInt8]) throws(OwnedFilesError) {
        if let broken { throw broken }
        guard let hash = Self.hash(bytes) else { throw .noCrypto(CryptoLibrary.loadError ?? "libcrypto unavailable") }
        guard hashes[name] != hash else { return }
        let previous = hashes[name]
        hashes[name] = hash
        do {
            try save()
        } catch {
            hashes[name] = previous
            throw error
        }
    }

    /// Forgets `hosts/<name>` after the agent removed it. The entry goes from memory even when
    /// the save fails (the file is gone either way); the save is tried again by `retrySave`.
    mutating func forget(_ name: TincNodeName) throws(OwnedFilesError) {
        if let broken { throw broken }
        guard hashes.removeValue(forKey: name) != nil || unsaved else { return }
        unsaved = true
        try save()
    }

    /// Saves a removal that could not be saved before; a no-op when there is none.
    mutating func retrySave() throws(OwnedFilesError) {
        guard unsaved, broken == nil else { return }
        try save()
    }

    /// A broken ledger reads its file again when it changed (repaired, replaced or removed);
    /// returns true when it read it (`broken` then says whether it is usable). A ledger that
    /// is not broken is left alone.
    mutating func reloadIfChanged() -> Bool {
        guard broken != nil else { return false }
        if let brokenSignature, brokenSignature == signature() { return false }
        read()
        return true
    }

    /// True the first time `error` is seen since the last successful save: the caller logs it then.
    mutating func isNew(_ error: OwnedFilesError) -> Bool {
        guard reported != error else { return false }
        reported = error
        return true
    }

    /// Writes the ledger atomically with mode 0600 into the state directory (created with mode
    /// 0700 when missing, refused when group or others may access it).
    private mutating func save() throws(OwnedFilesError) {
        guard let directory, let path else {
            unsaved = false
            return
        }
        do {
            try StateDirectory.prepare(directory)
        } catch {
            throw .directory(path: directory, reason: error.reason)
        }
        do {
            try TincAtomicFile.write(encoded(), to: path, mode: 0o600)
        } catch {
            throw .write(error)
        }
        unsaved = false
        reported = nil
    }

    private mutating func read() {
        hashes = [:]
        broken = nil
        brokenSignature = nil
        guard let path else { return }
        do throws(OwnedFilesError) {
            let bytes: [UInt8]
            do {
                bytes = try TincRegularFile.read(path, limit: Self.maxFileBytes, forbiddenModeBits: 0o077)
            } catch {
                if case .file(.system(_, "open", ENOENT)) = error { return }
                throw .unreadable(error)
            }
            hashes = try Self.decode(bytes, path: path)
        } catch {
            broken = error
            brokenSignature = signature()
        }
    }

    /// (device, inode, size, mtime seconds, mtime nanoseconds) of the ledger file; [] when it is missing.
    private func signature() -> [Int] {
        guard let path else { return [] }
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [Int(info.st_dev), Int(info.st_ino), Int(info.st_size), info.st_mtim.tv_sec, info.st_mtim.tv_nsec]
    }

    /// Compact JSON with sorted keys: `{"files":{"NAME":{"sha256":"..."}},"version":1}`.
    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let files = Dictionary(uniqueKeysWithValues: hashes.map { ($0.key.rawValue, Entry(sha256: $0.value)) })
        return (try? Array(encoder.encode(File(version: Self.version, files: files)))) ?? []
    }

    static func decode(_ bytes: [UInt8], path: String) throws(OwnedFilesError) -> [TincNodeName: String] {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(bytes))
        } catch {
            throw .corrupt(path: path, reason: "not a ledger of owned files: \(TincParseError.excerpt("\(error)"))")
        }
        guard file.version == version else { throw .corrupt(path: path, reason: "version \(file.version), this build reads \(version)") }
        var hashes: [TincNodeName: String] = [:]
        for (text, entry) in file.files {
            guard let name = TincNodeName(text) else {
                throw .corrupt(path: path, reason: "invalid node name \(TincParseError.excerpt(text).debugDescription)")
            }
            guard Pin.isFingerprint(entry.sha256) else { throw .corrupt(path: path, reason: "\(text): sha256 is not 64 lowercase hex digits") }
            hashes[name] = entry.sha256
        }
        return hashes
    }

    private struct File: Codable {
        var version: Int
        var files: [String: Entry]
    }

    private struct Entry: Codable {
        var sha256: String
    }
}

/// Why the ledger of owned files could not be read or written. Each case names the path.
enum OwnedFilesError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(TincFileRefusal)
    case corrupt(path: String, reason: String)
    case directory(path: String, reason: String)
    case write(TincFileError)
    case noCrypto(String)

    var description: String {
        switch self {
        case .unreadable(let refusal):
            "ledger of owned files: \(refusal); no host file counts as the agent's until it is repaired or removed"
        case .corrupt(let path, let reason):
            "ledger of owned files \(path) is corrupt (\(reason)); no host file counts as the agent's until it is repaired or removed"
        case .directory(let path, let reason): "state directory \(path): \(reason)"
        case .write(let error): "ledger of owned files: \(error)"
        case .noCrypto(let reason): "ledger of owned files: cannot hash (\(reason))"
        }
    }
}
