#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import EtcdClient
import Glibc
import Logging
import POSIXSupport
import TincControl

/// Trust: the pins (loaded from the state directory, new ones saved, the file watched for an
/// operator's `trust` command) and this node's signed record.
extension RegistrySync {
    /// Identifies one version of the pin file: a change means an operator edited the pins.
    struct FileStamp: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64

        static func of(_ path: String) -> FileStamp? {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return FileStamp(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                             modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
        }
    }

    /// The unix time the trust decisions use (enrollment expiry, pin dates).
    var unixNow: Int64 { Int64(clock.date().timeIntervalSince1970) }

    /// Loads the pins at start, and again whenever the file changed (an operator's `trust
    /// forget|pin`); after a change the registry is read again, so the new pins judge every
    /// record. A pin file that cannot be read stops the registry from trusting anything new:
    /// the view keeps its records and the error is logged until the file is repaired.
    /// Returns false while the pins are not loaded.
    @discardableResult
    func refreshPins() async -> Bool {
        guard let directory = settings.stateDirectory else {
            pinsLoaded = true
            return true
        }
        let path = directory + "/" + PinStore.fileName
        let stamp = FileStamp.of(path)
        if pinsLoaded && stamp == pinStamp { return true }
        let store: PinStore
        do {
            store = try PinStore.load(directory: directory)
        } catch {
            if lastPinError != error.description {
                logger.error("cannot read the pinned keys; no new key is trusted until the file is repaired",
                             metadata: ["error": "\(error)"])
                metrics.error("pins")
            }
            lastPinError = error.description
            return pinsLoaded
        }
        if lastPinError != nil { logger.info("pinned keys readable again") }
        lastPinError = nil
        let first = !pinsLoaded
        pinStamp = stamp
        pinsLoaded = true
        guard store.pins != view.pins else { return true }
        view.replacePins(store.pins)
        metrics.update { $0.pins = store.pins.count }
        if first {
            logger.info("pinned keys loaded", metadata: ["pins": "\(store.pins.count)", "path": "\(path)"])
        } else {
            logger.notice("pinned keys changed on disk (trust command); reading the registry again",
                          metadata: ["pins": "\(store.pins.count)"])
            await reread()
        }
        return true
    }

    /// Saves a new pin (first use or enrollment) next to the others, or a pin moved by a
    /// rotation chain (`replacing` the fingerprint it moved from). A pin the file holds for the
    /// name that the view did not start from (an operator's, written meanwhile) wins: the file
    /// is read again.
    func persistPin(_ name: TincNodeName, _ pin: Pin, replacing old: String? = nil) {
        let message: Logger.Message = switch pin.source {
        case .rotation: "moved the pin of a node that rotated its key (signed rotation statements)"
        case .enrollment: "pinned the enrolled key of a new node"
        default: "pinned the key of a new node (trust on first use)"
        }
        var metadata: Logger.Metadata = ["peer": "\(name)", "sha256": "\(pin.fingerprintSHA256)"]
        if let old { metadata["previous_sha256"] = "\(old)" }
        logger.notice(message, metadata: metadata)
        metrics.update { $0.pins = view.pins.count }
        guard let directory = settings.stateDirectory else { return }
        do {
            // Under the same lock as `bgpmesh-agent trust`; a pin the file already holds (an
            // operator's, written meanwhile) wins, and the stamp check reads it back in.
            try PinStore.modify(directory: directory, timeout: .seconds(2)) { (store: inout PinStore) throws(PinStoreError) in
                let held = store[name.rawValue]?.fingerprintSHA256
                if held == nil || (old != nil && held == old) { try store.pin(name.rawValue, pin) }
            }
            // The stamp is not updated here: the next tick reads the file back, and only a pin
            // that differs from the view's (an operator's) makes it read the registry again.
        } catch {
            // Kept in memory: this run stays pinned; the next start would trust on first use again.
            metrics.error("pins")
            logger.error("cannot save a pinned key; it holds until the agent restarts", metadata: ["peer": "\(name)", "error": "\(error)"])
        }
    }

    /// Reads the registry again (the pins changed) and applies it like a resync.
    func reread() async {
        do {
            _ = try await readRegistry()
        } catch {
            logger.warning("could not read the registry again after a pin change; the next full read applies it",
                           metadata: ["error": "\(error)"])
        }
    }

    /// Waits until the pins are loaded and this node's name and key are known: only then can
    /// records be judged (this node's own name must never be pinned to a key from etcd).
    func waitForTrust() async {
        while !Task.isCancelled {
            if await refreshPins(), view.me != nil { return }
            try? await clock.sleep(for: settings.tick)
        }
    }
}

/// This node's record as published: signed with the node's tinc private key, with its
/// enrollment statement when it has one. Signing happens only when the record or the
/// statement changed.
struct RecordSigner {
    private var last: (record: [UInt8], enrollment: [UInt8]?, rotations: [RotationStatement], value: [UInt8])?
    private var key: TincRSAPrivateKey?

    /// Why this node's record cannot be signed.
    enum Failure: Error, CustomStringConvertible {
        case privateKey(path: String, TincKeyError)
        case keyMismatch(path: String, hostFileSHA256: String, privateSHA256: String)
        case enrollment(path: String, String)
        case signing(TincKeyError)

        var description: String {
            switch self {
            case .privateKey(let path, let error): "cannot read this node's tinc private key \(path): \(error)"
            case .keyMismatch(let path, let host, let priv):
                "the private key \(path) (SHA256:\(priv)) does not match this node's host file key (SHA256:\(host)); peers would refuse the record"
            case .enrollment(let path, let reason): "enrollment statement \(path): \(reason)"
            case .signing(let error): "cannot sign this node's record: \(error)"
            }
        }
    }

    /// The value to put under `nodes/<name>`. `rotating` (a key rotation in progress) signs
    /// instead of the key file; `rotations` goes into the envelope.
    mutating func value(for record: NodeRecord, privateKeyPath: String, enrollmentPath: String?,
                        key rotating: TincRSAPrivateKey? = nil, rotations: [RotationStatement] = []) throws(Failure) -> [UInt8] {
        let bytes = record.encoded()
        let statementBytes = try Self.readEnrollment(enrollmentPath)
        if let last, last.record == bytes, last.enrollment == statementBytes, last.rotations == rotations { return last.value }
        if let rotating, rotating.publicKey.fingerprintSHA256 == record.fingerprintSHA256 {
            key = rotating
        } else if key?.publicKey.fingerprintSHA256 != record.fingerprintSHA256 {
            do {
                key = try TincRSAPrivateKey(contentsOfFile: privateKeyPath)
            } catch {
                throw .privateKey(path: privateKeyPath, error)
            }
        }
        guard let key, key.publicKey.fingerprintSHA256 == record.fingerprintSHA256 else {
            throw .keyMismatch(path: privateKeyPath, hostFileSHA256: record.fingerprintSHA256,
                               privateSHA256: key?.publicKey.fingerprintSHA256 ?? "?")
        }
        var statement: EnrollmentStatement?
        if let statementBytes, let enrollmentPath {
            do {
                statement = try EnrollmentStatement.decode(statementBytes)
            } catch {
                throw .enrollment(path: enrollmentPath, error.description)
            }
            // The enrolled key, or a key this node's rotations lead to from it.
            let rotatedFromEnrolled = statement.map {
                if case .success = RotationStatement.follow(rotations, name: record.name, from: $0.fingerprintSHA256,
                                                            to: record.fingerprintSHA256) { return !rotations.isEmpty }
                return false
            } ?? false
            guard statement?.name == record.name, statement?.fingerprintSHA256 == record.fingerprintSHA256 || rotatedFromEnrolled else {
                throw .enrollment(path: enrollmentPath, "it enrolls \(statement?.name ?? "?") with SHA256:\(statement?.fingerprintSHA256 ?? "?"), "
                                  + "not this node (\(record.name), SHA256:\(record.fingerprintSHA256))")
            }
        }
        let signed: SignedRecord
        do {
            signed = try SignedRecord.sign(record, with: key, enrollment: statement, rotations: rotations)
        } catch {
            throw .signing(error)
        }
        let value = signed.encoded()
        last = (bytes, statementBytes, rotations, value)
        return value
    }

    /// The statement file's bytes; nil when there is none.
    static func readEnrollment(_ path: String?) throws(Failure) -> [UInt8]? {
        guard let path else { return nil }
        do {
            return try RegularFile.read(path, limit: EnrollmentStatement.maxBytes)
        } catch {
            if case .system(_, _, ENOENT) = error { return nil }
            throw .enrollment(path: path, error.reason)
        }
    }
}
