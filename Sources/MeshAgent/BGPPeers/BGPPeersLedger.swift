#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import POSIXSupport
import TincControl

/// Proof that the agent wrote `bird.peers-file` (the `OwnedFiles` idea for one file): the path
/// and the SHA-256 of the bytes it last wrote there, as `bird-peers-file.json` in the state
/// directory (mode 0600, written atomically before the file itself). Without a directory it
/// lives in memory only (tests).
///
/// A ledger that cannot be read owns nothing and records nothing, so an existing peers file
/// counts as the operator's until the ledger is repaired or removed.
struct BGPPeersLedger: Sendable {
    static let fileName = "bird-peers-file.json"
    static let version = 1

    let directory: String?
    private(set) var path: String?
    private(set) var sha256: String?
    /// Why the ledger file cannot be used; while set, nothing is owned.
    private(set) var broken: String?

    var file: String? { directory.map { $0 + "/" + Self.fileName } }

    static func load(directory: String?) -> BGPPeersLedger {
        var ledger = BGPPeersLedger(directory: directory)
        ledger.read()
        return ledger
    }

    private init(directory: String?) {
        self.directory = directory
    }

    /// Whether the agent wrote the peers file at `path`.
    func owns(_ path: String) -> Bool {
        broken == nil && self.path == path
    }

    /// A broken ledger reads its file again (an operator may have repaired or removed it).
    mutating func retryIfBroken() {
        if broken != nil { read() }
    }

    /// Notes, and saves, that the agent is about to write `bytes` to `path`: a crash between the
    /// two leaves an entry for a file the agent meant to write, never a file the ledger does not know.
    mutating func record(_ path: String, bytes: [UInt8]) throws(BGPPeersError) {
        if let broken { throw .ledger(path: file ?? "(memory)", reason: broken) }
        guard let hash = OwnedFiles.hash(bytes) else { throw .ledger(path: file ?? "(memory)", reason: "cannot hash (no libcrypto)") }
        guard self.path != path || sha256 != hash else { return }
        let previous = (self.path, sha256)
        (self.path, sha256) = (path, hash)
        do {
            try save()
        } catch {
            (self.path, sha256) = previous
            throw error
        }
    }

    private func save() throws(BGPPeersError) {
        guard let directory, let file, let path, let sha256 else { return }
        do {
            try StateDirectory.prepare(directory)
        } catch {
            throw .ledger(path: directory, reason: error.reason)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes = (try? Array(encoder.encode(Entry(version: Self.version, path: path, sha256: sha256)))) ?? []
        do {
            try TincAtomicFile.write(bytes, to: file, mode: 0o600)
        } catch {
            throw .ledger(path: file, reason: "\(error)")
        }
    }

    private mutating func read() {
        (path, sha256, broken) = (nil, nil, nil)
        guard let file else { return }
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.read(file, limit: 64 << 10, forbiddenModeBits: 0o077)
        } catch {
            if case .system(_, "open", ENOENT) = error { return }
            broken = error.description
            return
        }
        guard let entry = try? JSONDecoder().decode(Entry.self, from: Data(bytes)) else {
            broken = "\(file) is not a ledger of the peers file"
            return
        }
        guard entry.version == Self.version, Pin.isFingerprint(entry.sha256), !entry.path.isEmpty else {
            broken = "\(file): version \(entry.version) or its sha256 is not what this build writes"
            return
        }
        (path, sha256) = (entry.path, entry.sha256)
    }

    private struct Entry: Codable {
        var version: Int
        var path: String
        var sha256: String
    }
}
