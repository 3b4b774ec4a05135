/// A running timer as BIRD prints it, `remaining/configured` in seconds: `61.443/90` for a hold
/// timer, `12.345/-` for one without a configured value (restart timer, LL stale timer).
public struct BIRDTimer: Sendable, Hashable {
    /// Seconds until the timer fires.
    public var remaining: Double
    /// The configured period in seconds; nil when BIRD prints `-`.
    public var configured: Double?

    public init(remaining: Double, configured: Double?) {
        self.remaining = remaining
        self.configured = configured
    }

    /// Parses `remaining/configured`; nil for `---` (an inactive timer) or anything else.
    public init?(_ text: String) {
        var text = text
        guard let timer = text.withUTF8({ buffer -> BIRDTimer? in
            guard let base = buffer.baseAddress else { return nil }
            return BIRDTimer(ByteSlice(base: base, start: 0, end: buffer.count))
        }) else { return nil }
        self = timer
    }

    init?(_ text: ByteSlice) {
        guard let (remainingText, configuredText) = text.trimmed().split(at: UInt8(ascii: "/")),
              let remaining = remainingText.parseDecimal() else { return nil }
        self.remaining = remaining
        if configuredText.equals("-") {
            configured = nil
        } else if let configured = configuredText.parseDecimal() {
            self.configured = configured
        } else {
            return nil
        }
    }
}
