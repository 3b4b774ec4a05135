import TincControl

/// What the key rotation (`KeyRotation`) asks of the registry: publish this node's record with
/// the new key (signed by it) and the rotation statements, and tell how many alive peers
/// acknowledged the new key.
extension RegistrySync {
    /// While `key` is set the record carries its public key (not the own host file's) and is
    /// signed with it; `chain` goes with every record from now on. Publishes at once.
    public func setRotation(key: TincRSAPrivateKey?, chain: [RotationStatement]) {
        rotationKey = key
        rotationChain = chain
        needsPublish = true
        publishWake.signal()
    }

    /// The fingerprint of the record last put (or found) under `nodes/<me>`; nil before.
    public func publishedKeyFingerprint() -> String? { publishedFingerprint }

    /// This node's name, once known.
    public func localName() -> TincNodeName? { me }

    /// The alive peers and those of them that have not acknowledged `fingerprint`; nil while
    /// the registry is not in sync.
    public func ackProgress(fingerprint: String) -> (expected: [TincNodeName], missing: [TincNodeName])? {
        guard synced, let me else { return nil }
        let expected = view.alive.filter { $0 != me && view.records[$0] != nil }.sorted()
        return (expected, KeyAcks.missing(records: view.records, alive: Set(expected), rotating: me, fingerprint: fingerprint))
    }
}
