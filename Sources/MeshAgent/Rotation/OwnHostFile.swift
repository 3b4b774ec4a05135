/// This node's own host file with another public key: the one time the agent writes it.
enum OwnHostFile {
    /// `text` with its first RSA public key PEM block replaced by `pem` (appended when there is
    /// none); every other line stays as the operator wrote it.
    static func replacingKey(in text: String, with pem: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let begin = lines.firstIndex { $0.hasPrefix("-----BEGIN ") && $0.hasSuffix("PUBLIC KEY-----") }
        let end = begin.flatMap { start in lines[start...].firstIndex { $0.hasPrefix("-----END ") && $0.hasSuffix("PUBLIC KEY-----") } }
        let block = pem.split(separator: "\n").map(String.init)
        if let begin, let end {
            lines.replaceSubrange(begin...end, with: block)
        } else {
            if let last = lines.last, !last.isEmpty { lines.append("") }
            lines += block
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
