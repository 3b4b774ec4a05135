/// Number rendering.
///
/// Sample values: an integral value with magnitude below 2^53 (every such double
/// is an exact integer) is written as a plain integer (`3`, `16658423808`, and
/// -0 as `0`). Every other value is written like Go's
/// `strconv.FormatFloat(v, 'g', -1, 64)`: shortest round-trip digits, exponent
/// form when the decimal exponent is below -4 or at least 6 (`1e-05`,
/// `1.2345675e+06`, `1e+21`), and `NaN`, `+Inf`, `-Inf`.
///
/// `le` label values: text 0.0.4 uses Go's `'g'` form as client_golang does
/// (`1`, `0.005`, `1e+06`); OpenMetrics uses its canonical numbers (OpenMetrics
/// 1.0 "Considerations: Canonical Numbers"): the same, plus `.0` when there is
/// neither a decimal point nor an exponent (`1.0`, `100000.0`, `1e+06`).
extension ByteWriter {
    private static let exactIntegerLimit = 9_007_199_254_740_992.0 // 2^53

    mutating func appendSampleValue(_ value: Double) {
        if value.magnitude < Self.exactIntegerLimit, value == value.rounded(.towardZero) {
            append(Int64(value))
        } else {
            appendGoFloat(value, canonical: false)
        }
    }

    /// Go `'g'`, shortest digits; `canonical` appends `.0` to integral renderings.
    mutating func appendGoFloat(_ value: Double, canonical: Bool) {
        if value.isNaN {
            append("NaN")
            return
        }
        if value.isInfinite {
            append(value < 0 ? "-Inf" : "+Inf")
            return
        }
        if value == 0 {
            append(canonical ? "0.0" : "0")
            return
        }
        // Swift's description yields the shortest round-trip digits, as either
        // `123.45` or `1.2345e-05`; read them back as digits and a decimal point
        // position (value = 0.d1d2d3... * 10^point), then lay them out Go's way.
        var text = value.description
        text.withUTF8 { source in withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digits in
            var count = 0
            var point = 0
            var sawPoint = false
            var inExponent = false
            var exponentNegative = false
            var exponent = 0
            for byte in source {
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    let digit = Int(byte &- UInt8(ascii: "0"))
                    if inExponent {
                        exponent = min(exponent * 10 + digit, 10_000)
                    } else if count == 0 && digit == 0 {
                        if sawPoint { point -= 1 }
                    } else if count < digits.count {
                        digits[count] = byte
                        count += 1
                        if !sawPoint { point += 1 }
                    } else if !sawPoint {
                        point += 1
                    }
                case UInt8(ascii: "."):
                    sawPoint = true
                case UInt8(ascii: "e"), UInt8(ascii: "E"):
                    inExponent = true
                case UInt8(ascii: "-"):
                    if inExponent { exponentNegative = true }
                default:
                    break
                }
            }
            point += exponentNegative ? -exponent : exponent
            while count > 0 && digits[count - 1] == UInt8(ascii: "0") { count -= 1 }
            guard count > 0 else {
                append(canonical ? "0.0" : "0")
                return
            }

            if value < 0 { append(UInt8(ascii: "-")) }
            let decimalExponent = point - 1
            if decimalExponent < -4 || decimalExponent >= 6 {
                append(digits[0])
                if count > 1 {
                    append(UInt8(ascii: "."))
                    for i in 1..<count { append(digits[i]) }
                }
                append(UInt8(ascii: "e"))
                append(decimalExponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                let magnitude = decimalExponent.magnitude
                if magnitude < 10 { append(UInt8(ascii: "0")) }
                append(UInt64(magnitude))
            } else if point <= 0 {
                append(UInt8(ascii: "0"))
                append(UInt8(ascii: "."))
                for _ in 0..<(-point) { append(UInt8(ascii: "0")) }
                for i in 0..<count { append(digits[i]) }
            } else if point >= count {
                for i in 0..<count { append(digits[i]) }
                for _ in 0..<(point - count) { append(UInt8(ascii: "0")) }
                if canonical {
                    append(UInt8(ascii: "."))
                    append(UInt8(ascii: "0"))
                }
            } else {
                for i in 0..<point { append(digits[i]) }
                append(UInt8(ascii: "."))
                for i in point..<count { append(digits[i]) }
            }
        } }
    }
}
