#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import POSIXSupport
import TincControl

/// The pins of one agent, kept as one JSON file in the state directory (`state.dir`, default
/// `/var/lib/bgpmesh`). A missing file is an empty store (a first start); a file that cannot be
/// read, is too large, that group or others may access (issue 13: readable only by the agent), or
/// does not parse is an error, never an empty store, because an empty store would trust the next
/// key for every name.
public struct PinStore: Sendable, Equatable {
    public static let fileName = "trust-pins.json"
    /// 1 MiB holds about 7,000 pins, several times `registry.max-nodes`.
    public static let maxFileBytes = 1 << 20
    static let version = 1

    public let directory: String
    public private(set) var pins: [String: Pin]

    public var path: String { directory + "/" + Self.fileName }

    /// An empty store for `directory` (nothing is read or written).
    public init(directory: String, pins: [String: Pin] = [:]) {
        self.directory = directory
        self.pins = pins
    }

    /// Reads `directory/trust-pins.json`; a missing file gives an empty store.
    public static func load(directory: String) throws(PinStoreError) -> PinStore {
        let path = directory + "/" + fileName
        let bytes: [UInt8]
        do {
            bytes = try TincRegularFile.read(path, limit: maxFileBytes, forbiddenModeBits: 0o077)
        } catch {
            if case .file(.system(_, "open", ENOENT)) = error { return PinStore(directory: directory) }
            throw .unreadable(error)
        }
        return PinStore(directory: directory, pins: try decode(bytes, path: path))
    }

    /// The pin of `name`, if any.
    public subscript(name: String) -> Pin? { pins[name] }

    /// Sets or replaces the pin of `name`; the name must be a tinc node name and the fingerprint 64 lowercase hex digits.
    public mutating func pin(_ name: String, _ pin: Pin) throws(PinStoreError) {
        guard TincNodeName.isValid(name) else { throw .invalidEntry(path: path, reason: "invalid node name \(TincParseError.excerpt(name).debugDescription)") }
        guard Pin.isFingerprint(pin.fingerprintSHA256) else {
            throw .invalidEntry(path: path, reason: "\(name): fingerprint must be 64 lowercase hex digits")
        }
        pins[name] = pin
    }

    /// Removes the pin of `name`; returns it.
    @discardableResult
    public mutating func forget(_ name: String) -> Pin? {
        pins.removeValue(forKey: name)
    }

    /// Writes the store atomically (temporary file, fsync, rename, directory fsync) with mode
    /// 0600, creating the directory with mode 0700 when it is missing. A directory that group
    /// or others may access is refused: whoever can write it can replace the pins, and whoever
    /// can enter it can read them.
    public func save() throws(PinStoreError) {
        try Self.prepareDirectory(directory)
        do {
            try TincAtomicFile.write(encoded(), to: path, mode: 0o600)
        } catch {
            throw .write(error)
        }
    }

    /// Creates `directory` with mode 0700 when it is missing; refuses one that is not a
    /// directory or that group or others may access (`StateDirectory.prepare`).
    static func prepareDirectory(_ directory: String) throws(PinStoreError) {
        do {
            try StateDirectory.prepare(directory)
        } catch {
            throw .directory(path: directory, reason: error.reason)
        }
    }

    /// Compact JSON with sorted keys: `{"pins":{"NAME":{...}},"version":1}`.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(File(version: Self.version, pins: pins)))) ?? []
    }

    static func decode(_ bytes: [UInt8], path: String) throws(PinStoreError) -> [String: Pin] {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(bytes))
        } catch {
            throw .corrupt(path: path, reason: "not a pin file: \(TincParseError.excerpt("\(error)"))")
        }
        guard file.version == version else { throw .corrupt(path: path, reason: "version \(file.version), this build reads \(version)") }
        for (name, pin) in file.pins {
            guard TincNodeName.isValid(name) else { throw .corrupt(path: path, reason: "invalid node name \(TincParseError.excerpt(name).debugDescription)") }
            guard Pin.isFingerprint(pin.fingerprintSHA256) else { throw .corrupt(path: path, reason: "\(name): fingerprint is not 64 lowercase hex digits") }
        }
        return file.pins
    }

    private struct File: Codable {
        var version: Int
        var pins: [String: Pin]
    }
}

/// Why the pin store could not be read or written. Each case names the path.
public enum PinStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(TincFileRefusal)
    case corrupt(path: String, reason: String)
    case invalidEntry(path: String, reason: String)
    case directory(path: String, reason: String)
    case write(TincFileError)
    /// The lock file (`PinStore.lockFileName`) could not be opened or locked.
    case lock(path: String, reason: String)
    /// Another process held the lock for longer than the timeout.
    case lockTimeout(path: String, waited: Duration)

    public var description: String {
        switch self {
        case .unreadable(let refusal): "pin store: \(refusal); refusing to run without the pins"
        case .corrupt(let path, let reason): "pin store \(path) is corrupt (\(reason)); refusing to trust any key until it is repaired or removed"
        case .invalidEntry(let path, let reason): "pin store \(path): \(reason)"
        case .directory(let path, let reason): "state directory \(path): \(reason)"
        case .write(let error): "pin store: \(error)"
        case .lock(let path, let reason): "pin store lock \(path): \(reason)"
        case .lockTimeout(let path, let waited):
            "pin store lock \(path) is still held by another process after \(DurationSyntax.format(waited)) "
                + "(a running agent saving a pin, or another `bgpmesh-agent trust` command); try again"
        }
    }
}
