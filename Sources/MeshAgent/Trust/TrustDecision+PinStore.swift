import TincControl

extension TrustDecision {
    /// `decide` for a decoded `SignedRecord`, with the pin of its name from `pins`.
    public static func decide(_ signed: SignedRecord, key: TincRSAPublicKey, pins: PinStore,
                              adminKey: TincRSAPublicKey?, enrollment: EnrollmentStatement?, now: Int64) -> Outcome {
        decide(record: signed.record, key: key, signature: signed.signature, pin: pins[signed.record.name],
               adminKey: adminKey, enrollment: enrollment, rotations: signed.rotations, now: now)
    }
}
