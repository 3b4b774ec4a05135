#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import POSIXSupport
import TincControl

/// This node's key rotations as kept in `state.dir/rotation.json` (written atomically, mode
/// 600): the rotation in progress, the chain of statements the record carries, and how the
/// last rotation ended. A missing file is an idle node that never rotated.
public struct RotationState: Codable, Sendable, Equatable {
    public static let fileName = "rotation.json"
    /// The new private key while a rotation runs (mode 600, beside rotation.json).
    public static let newKeyFileName = "rsa_key.priv.new"
    /// A copy of the old private key and host file once the new ones are installed (rollback).
    public static let oldKeyFileName = "rsa_key.priv.old"
    public static let oldHostFileName = "host.old"

    /// Where a rotation is; docs/rotation.md says what each phase means for the mesh.
    public enum Phase: String, Codable, Sendable, CaseIterable {
        /// No rotation runs (never stored in `current`).
        case idle
        /// The new key exists in the state directory only; nothing is published.
        case generated
        /// The record with the new key and the statement is published; waiting for acks.
        case published
        /// Writing the new private key and host file and restarting tincd.
        case installing
        /// tincd was restarted with the new key; checking it came up.
        case restarted
        /// tincd did not come up with the new key: the old key goes back.
        case rollingBack = "rolling_back"
    }

    /// How a rotation ended: the `result` label of `bgpmesh_key_rotations_total`.
    public enum Result: String, Codable, Sendable, CaseIterable {
        case success
        /// tincd refused the new key; the old key is back everywhere.
        case rolledBack = "rolled_back"
        /// Stopped before anything was installed (or the rollback itself failed).
        case failed
    }

    public struct Current: Codable, Sendable, Equatable {
        public var id: String
        public var phase: Phase
        public var startedAt: Int64
        public var oldFingerprint: String
        public var newFingerprint: String
        /// The statement old -> new (already in `chain` from `published` on).
        public var statement: RotationStatement
        /// When the wait for acks began (unix seconds), from `published`.
        public var publishedAt: Int64?
        /// tincd's pid before the restart (0: none ran).
        public var pidBeforeRestart: Int32?
        /// Why the rotation is rolling back.
        public var reason: String?

        enum CodingKeys: String, CodingKey {
            case id, phase, statement
            case startedAt = "started_at"
            case oldFingerprint = "old_fingerprint"
            case newFingerprint = "new_fingerprint"
            case publishedAt = "published_at"
            case pidBeforeRestart = "pid_before_restart"
            case reason
        }
    }

    public struct Last: Codable, Sendable, Equatable {
        public var id: String
        public var result: Result
        public var error: String?
        public var finishedAt: Int64

        enum CodingKeys: String, CodingKey {
            case id, result, error
            case finishedAt = "finished_at"
        }
    }

    public var current: Current?
    /// The statements this node's record carries, oldest first, at most `RotationStatement.maxChain`.
    public var chain: [RotationStatement] = []
    public var last: Last?
    /// When the key in use was installed by a rotation (unix seconds); nil: never rotated.
    public var keySince: Int64?
    /// Rotations ended, by result, over the life of the state directory.
    public var counts: [String: Int] = [:]

    enum CodingKeys: String, CodingKey {
        case current, chain, last, counts
        case keySince = "key_since"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        current = try c.decodeIfPresent(Current.self, forKey: .current)
        chain = try c.decodeIfPresent([RotationStatement].self, forKey: .chain) ?? []
        last = try c.decodeIfPresent(Last.self, forKey: .last)
        keySince = try c.decodeIfPresent(Int64.self, forKey: .keySince)
        counts = try c.decodeIfPresent([String: Int].self, forKey: .counts) ?? [:]
    }

    public var phase: Phase { current?.phase ?? .idle }

    /// Appends a statement, keeping the last `maxChain`.
    mutating func append(_ statement: RotationStatement) {
        chain.append(statement)
        if chain.count > RotationStatement.maxChain { chain.removeFirst(chain.count - RotationStatement.maxChain) }
    }

    /// Loads the state; a missing file is the empty state.
    public static func load(directory: String) throws(RotationError) -> RotationState {
        let path = directory + "/" + fileName
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.read(path, limit: 1 << 20)
        } catch {
            if case .system(_, _, ENOENT) = error { return RotationState() }
            throw .state(path: path, reason: error.reason)
        }
        do {
            return try JSONDecoder().decode(RotationState.self, from: Data(bytes))
        } catch {
            throw .state(path: path, reason: "not a rotation state: \(TincParseError.excerpt("\(error)"))")
        }
    }

    /// Saves the state atomically (temporary file, fsync, rename, directory fsync), mode 600.
    public func save(directory: String) throws(RotationError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        let bytes = (try? Array(encoder.encode(self))) ?? []
        let path = directory + "/" + Self.fileName
        do {
            try TincAtomicFile.write(bytes + [0x0A], to: path, mode: 0o600)
        } catch {
            throw .state(path: path, reason: "\(error)")
        }
    }
}

/// Why a rotation could not start, go on or end.
public enum RotationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `repair.tincd-restart-command` is not set: tincd reads its key only at start.
    case noRestartCommand
    /// A rotation is running already.
    case running(id: String, phase: RotationState.Phase)
    /// The registry is not in sync, or this node's record is not known yet.
    case registryNotReady
    case state(path: String, reason: String)
    case key(String)
    case files(String)
    case restart(String)

    public var description: String {
        switch self {
        case .noRestartCommand:
            "key rotation needs repair.tincd-restart-command: tincd 1.0 reads its private key only at start"
        case .running(let id, let phase): "rotation \(id) is running (phase \(phase.rawValue))"
        case .registryNotReady: "the registry is not in sync yet (etcd unreachable, or this node's record not published)"
        case .state(let path, let reason): "rotation state \(path): \(reason)"
        case .key(let reason): "new key: \(reason)"
        case .files(let reason): "installing the key: \(reason)"
        case .restart(let reason): "restarting tincd: \(reason)"
        }
    }
}
