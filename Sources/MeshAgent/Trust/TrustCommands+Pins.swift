#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

extension TrustCommands {
    /// The pins of `directory`, read without the lock (the file is replaced atomically).
    public static func load(directory: String) throws(TrustCommandError) -> PinStore {
        do { return try PinStore.load(directory: directory) } catch { throw .pins(error) }
    }

    /// `trust list`: one line per pin, sorted by name, under a header; columns padded to the widest value.
    public static func table(_ store: PinStore) -> String {
        let rows = store.pins.sorted { $0.key < $1.key }.map { name, pin in
            [name, pin.fingerprintSHA256, pin.source.rawValue, UnixTimeText.rfc3339(pin.pinnedAt)]
        }
        let header = ["NODE", "FINGERPRINT (SHA-256)", "SOURCE", "PINNED AT (UTC)"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }

    /// `trust list --json`: `{"file":PATH,"pins":[{"fingerprint_sha256","name","pinned_at","pinned_at_rfc3339","source"}]}`,
    /// sorted by name, one line.
    public static func json(_ store: PinStore) -> [UInt8] {
        struct Entry: Encodable {
            var name: String
            var fingerprintSHA256: String
            var source: String
            var pinnedAt: Int64
            var pinnedAtRFC3339: String
            enum CodingKeys: String, CodingKey {
                case name, source
                case fingerprintSHA256 = "fingerprint_sha256"
                case pinnedAt = "pinned_at"
                case pinnedAtRFC3339 = "pinned_at_rfc3339"
            }
        }
        struct Listing: Encodable {
            var file: String
            var pins: [Entry]
        }
        let entries = store.pins.sorted { $0.key < $1.key }.map { name, pin in
            Entry(name: name, fingerprintSHA256: pin.fingerprintSHA256, source: pin.source.rawValue,
                  pinnedAt: pin.pinnedAt, pinnedAtRFC3339: UnixTimeText.rfc3339(pin.pinnedAt))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and integers: encoding cannot fail.
        return ((try? Array(encoder.encode(Listing(file: store.path, pins: entries)))) ?? []) + [0x0A]
    }

    /// `trust forget NODE`: removes the pin under the lock; returns it. No pin is `.noPin`, and nothing is written.
    public static func forget(_ name: String, directory: String, lockTimeout: Duration = PinStore.defaultLockTimeout)
        throws(TrustCommandError) -> Pin {
        try checkName(name)
        try checkOwner(directory)
        let removed: Pin?
        do {
            removed = try PinStore.modify(directory: directory, timeout: lockTimeout) { store in store.forget(name) }
        } catch {
            throw .pins(error)
        }
        guard let removed else { throw .noPin(name: name, path: directory + "/" + PinStore.fileName) }
        return removed
    }

    /// `trust pin NODE FINGERPRINT`: sets the pin (source `operator`, pinned `now`) under the
    /// lock; returns the pin it replaced, if any.
    public static func pin(_ name: String, fingerprint text: String, directory: String, now: Int64,
                           lockTimeout: Duration = PinStore.defaultLockTimeout) throws(TrustCommandError) -> (previous: Pin?, pin: Pin) {
        try checkName(name)
        let pin = Pin(fingerprintSHA256: try fingerprint(fromOperatorText: text), pinnedAt: now, source: .operator)
        try checkOwner(directory)
        do {
            let previous = try PinStore.modify(directory: directory, timeout: lockTimeout) { (store) throws(PinStoreError) -> Pin? in
                let previous = store[name]
                try store.pin(name, pin)
                return previous
            }
            return (previous, pin)
        } catch {
            throw .pins(error)
        }
    }

    /// Refuses to write into a state directory of another user: the new pin file would belong to
    /// the caller (root, typically), with mode 0600, and the agent could no longer read it. A
    /// missing directory is created by the caller, as the agent would create it.
    static func checkOwner(_ directory: String) throws(TrustCommandError) {
        var info = stat()
        guard stat(directory, &info) == 0 else { return }
        let user = geteuid()
        guard info.st_uid != user else { return }
        throw .notOwner(directory: directory, owner: info.st_uid, ownerName: userName(info.st_uid), user: user)
    }

    /// The login name of `uid`, if it has one.
    static func userName(_ uid: uid_t) -> String? {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &found) == 0, found != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }
}
