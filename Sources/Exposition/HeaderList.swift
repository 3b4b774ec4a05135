/// One element of a comma-separated HTTP header list such as `Accept` or
/// `Accept-Encoding` (RFC 9110 section 12.5): a token or media range, its
/// parameters and its weight.
struct HeaderListElement: Equatable {
    /// Lower-cased token (`gzip`) or media range (`text/plain`).
    var token: String
    /// Parameters other than `q`, names lower-cased, values unquoted.
    var parameters: [String: String]
    /// The `q` weight in 0...1; 1 when absent, 0 when unparsable.
    var q: Double
    /// Position in the header, for tie-breaking.
    var index: Int
}

enum HeaderList {
    /// Splits a header into elements. Never fails: junk becomes odd tokens that match nothing.
    static func parse(_ header: String) -> [HeaderListElement] {
        var elements: [HeaderListElement] = []
        for part in split(header, on: ",") {
            let pieces = split(part, on: ";")
            let token = trim(pieces.first ?? "").lowercased()
            guard !token.isEmpty else { continue }
            var parameters: [String: String] = [:]
            var q = 1.0
            var sawQ = false
            for piece in pieces.dropFirst() {
                let text = trim(piece)
                guard let eq = text.firstIndex(of: "=") else { continue }
                let name = trim(String(text[..<eq])).lowercased()
                let value = unquote(trim(String(text[text.index(after: eq)...])))
                if name == "q" {
                    // Only the first q counts; later parameters are accept-ext.
                    if !sawQ {
                        sawQ = true
                        if let parsed = Double(value), parsed.isFinite {
                            q = min(max(parsed, 0), 1)
                        } else {
                            q = 0
                        }
                    }
                } else if !sawQ, parameters[name] == nil {
                    parameters[name] = value
                }
            }
            elements.append(HeaderListElement(token: token, parameters: parameters, q: q, index: elements.count))
        }
        return elements
    }

    /// Splits on `separator` outside double-quoted strings.
    private static func split(_ text: String, on separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var inQuotes = false
        var escaped = false
        for ch in text {
            if inQuotes {
                current.append(ch)
                if escaped {
                    escaped = false
                } else if ch == "\\" {
                    escaped = true
                } else if ch == "\"" {
                    inQuotes = false
                }
            } else if ch == "\"" {
                inQuotes = true
                current.append(ch)
            } else if ch == separator {
                parts.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        parts.append(current)
        return parts
    }

    private static func trim(_ text: String) -> String {
        var slice = Substring(text)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }

    private static func unquote(_ text: String) -> String {
        guard text.count >= 2, text.first == "\"", text.last == "\"" else { return text }
        var result = ""
        var escaped = false
        for ch in text.dropFirst().dropLast() {
            if escaped {
                result.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else {
                result.append(ch)
            }
        }
        return result
    }
}
