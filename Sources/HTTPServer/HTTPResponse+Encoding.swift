extension HTTPResponse {
    /// The wire form (RFC 9112 §4, §6). The server owns framing and connection management:
    /// handler-set Content-Length, Transfer-Encoding, Connection and Date are replaced.
    func encoded(requestMethod: String?, close: Bool, keepAliveHeader: Bool, date: String) -> [UInt8] {
        var (bytes, sendsBody) = encodedHead(requestMethod: requestMethod, close: close, keepAliveHeader: keepAliveHeader, date: date)
        if sendsBody { bytes.append(contentsOf: body) }
        return bytes
    }

    /// The status line and headers, and whether `body` follows them.
    func encodedHead(requestMethod: String?, close: Bool, keepAliveHeader: Bool, date: String) -> (head: [UInt8], sendsBody: Bool) {
        let informational = (100..<200).contains(status)
        // RFC 9110 §6.4.1: no content in 1xx, 204 and 304, nor in any response to HEAD.
        let omitBody = informational || status == 204 || status == 304 || requestMethod == "HEAD"
        var head = "HTTP/1.1 \(status) \(Self.reasonPhrase(for: status))\r\n"
        var hasServer = false
        var handlerLength: String?
        for (name, value) in headers where HTTPSyntax.isToken(name) {
            if HTTPSyntax.equalsIgnoringCase(name, "Content-Length") {
                handlerLength = value
                continue
            }
            if HTTPSyntax.equalsIgnoringCase(name, "Transfer-Encoding") || HTTPSyntax.equalsIgnoringCase(name, "Connection")
                || HTTPSyntax.equalsIgnoringCase(name, "Date") {
                continue
            }
            if HTTPSyntax.equalsIgnoringCase(name, "Server") { hasServer = true }
            head += "\(name): \(Self.sanitized(value))\r\n"
        }
        if !hasServer { head += "Server: bgpmesh-agent\r\n" }
        head += "Date: \(date)\r\n"
        // RFC 9110 §8.6: none in 1xx/204; a HEAD or 304 response may state the length a GET would have had.
        let validHandlerLength = handlerLength.flatMap { UInt64($0) }
        if !informational && status != 204 {
            if status == 304 {
                if let validHandlerLength { head += "Content-Length: \(validHandlerLength)\r\n" }
            } else if requestMethod == "HEAD" && body.isEmpty, let validHandlerLength {
                head += "Content-Length: \(validHandlerLength)\r\n"
            } else {
                head += "Content-Length: \(body.count)\r\n"
            }
        }
        if close {
            head += "Connection: close\r\n"
        } else if keepAliveHeader {
            head += "Connection: keep-alive\r\n"
        }
        head += "\r\n"
        return (Array(head.utf8), !omitBody && !body.isEmpty)
    }

    /// CR, LF and other controls in a handler's value would allow response splitting.
    private static func sanitized(_ value: String) -> String {
        if value.utf8.allSatisfy(HTTPSyntax.isFieldValueChar) { return value }
        return String(decoding: value.utf8.map { HTTPSyntax.isFieldValueChar($0) ? $0 : 0x20 }, as: UTF8.self)
    }
}
