import TincControl

/// Acknowledgements of other nodes' key rotations, carried in this node's own signed record
/// (`NodeRecord.keyAcks`): the rotating node restarts tincd with its new key once every alive
/// peer acknowledged it (docs/rotation.md).
extension RegistrySync {
    /// `peer -> fingerprint` for every peer whose record's newest rotation statement leads to
    /// its current key, was issued less than `keyAckLifetime` ago, and whose host file this
    /// agent installed with that key. An ack leaves the record when the rotation grows older
    /// than the lifetime, so records do not carry acks for ever.
    func currentKeyAcks() -> [String: String] {
        KeyAcks.acks(records: view.records, me: me, installed: installedKeys, now: unixNow,
                     lifetimeSeconds: Int64(settings.keyAckLifetime.components.seconds))
    }
}

/// The ack rule, pure.
enum KeyAcks {
    static func acks(records: [TincNodeName: ValidNodeRecord], me: TincNodeName?, installed: [TincNodeName: String],
                     now: Int64, lifetimeSeconds: Int64) -> [String: String] {
        var acks: [String: String] = [:]
        for (name, record) in records where name != me {
            let fingerprint = record.key.fingerprintSHA256
            guard let last = record.rotations.last, last.toFingerprintSHA256 == fingerprint,
                  now - last.issuedAt < lifetimeSeconds, installed[name] == fingerprint else { continue }
            acks[name.rawValue] = fingerprint
        }
        return acks
    }

    /// The alive peers of `rotating` that have not acknowledged `fingerprint` yet (what the
    /// rotating node waits for).
    static func missing(records: [TincNodeName: ValidNodeRecord], alive: Set<TincNodeName>, rotating: TincNodeName,
                        fingerprint: String) -> [TincNodeName] {
        alive.filter { $0 != rotating && records[$0]?.record.keyAcks[rotating.rawValue] != fingerprint }.sorted()
    }
}
