import TincControl

/// The bytes a node signs for its record: a domain line, then the record's compact JSON with
/// sorted keys (`NodeRecord.encoded()`: every field, no signature). The verifier decodes the
/// record it received and encodes it again, so the signature covers exactly the values the
/// agent acts on, however the JSON was spaced or escaped on the wire. The domain line keeps a
/// record signature from ever passing as an enrollment statement, or the reverse.
public enum CanonicalRecord {
    public static let domain = "bgpmesh node record v1\n"

    public static func bytes(of record: NodeRecord) -> [UInt8] {
        Array(domain.utf8) + record.encoded()
    }
}
