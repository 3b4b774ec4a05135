// libFuzzer entry for the trust pieces: a signed node record and an enrollment statement from
// untrusted bytes, their verification and the trust decision. Built by scripts/fuzz-trust.sh
// with the pure sources of Sources/TincControl and Sources/MeshAgent/Trust, and NodeRecord.

/// NodeRecord's default agent version; the real one lives in Runtime with the build stamp.
public enum BuildInfo {
    public static let version = "fuzz"
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTrustRecords(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    if let signed = try? SignedRecord.decode(bytes) {
        // What decodes encodes to a value that decodes to the same record and signature.
        precondition((try? SignedRecord.decode(signed.encoded())) == signed, "signed record round trip changed it")
        precondition(CanonicalRecord.bytes(of: signed.record) == CanonicalRecord.bytes(of: signed.record), "canonical bytes differ")
        if let key = try? TincRSAPublicKey(pemText: signed.record.publicKey) {
            let valid = key.isValidSignature(signed.signature, for: CanonicalRecord.bytes(of: signed.record))
            let outcome = TrustDecision.decide(record: signed.record, key: key, signature: signed.signature, pin: nil,
                                               adminKey: nil, enrollment: nil, now: 0)
            if case .accept = outcome {
                precondition(valid, "accepted a record whose signature does not verify")
            }
            // A pin for another key always refuses, whatever the signature.
            let other = Pin(fingerprintSHA256: String(repeating: "0", count: 64), pinnedAt: 0, source: .operator)
            if case .accept = TrustDecision.decide(record: signed.record, key: key, signature: signed.signature, pin: other,
                                                   adminKey: nil, enrollment: nil, now: 0) {
                preconditionFailure("accepted a record pinned to another key")
            }
            // With an admin key and no statement, nothing is accepted.
            if case .accept = TrustDecision.decide(record: signed.record, key: key, signature: signed.signature, pin: nil,
                                                   adminKey: key, enrollment: nil, now: 0) {
                preconditionFailure("accepted a record without enrollment")
            }
        }
    }

    if let statement = try? EnrollmentStatement.decode(bytes) {
        precondition((try? EnrollmentStatement.decode(statement.encoded())) == statement, "enrollment round trip changed it")
        precondition(Pin.isFingerprint(statement.fingerprintSHA256), "decoded a statement with a bad fingerprint")
        if let key = try? TincRSAPublicKey(pemText: String(decoding: bytes, as: UTF8.self)) {
            _ = statement.isSigned(by: key)
        }
    }
    return 0
}
