/// This node's own host file with another public key: the one time the agent writes it.
enum OwnHostFile {
    /// `text` with its first RSA public key PEM block replaced by `pem` (appended when there is
    /// none); every other line, `OLD PUBLIC KEY` blocks included, stays as the operator wrote it.
    static func replacingKey(in text: String, with pem: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        // The block tinc 1.0 reads; `tincd -K` leaves earlier keys as `BEGIN OLD PUBLIC KEY`, which stay.
        let labels = ["RSA PUBLIC KEY", "PUBLIC KEY"]
        let begin = lines.firstIndex { line in labels.contains { line == "-----BEGIN \($0)-----" } }
        let end = begin.flatMap { start in lines[start...].firstIndex { line in labels.contains { line == "-----END \($0)-----" } } }
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
