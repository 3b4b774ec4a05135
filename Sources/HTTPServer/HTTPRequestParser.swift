/// Incremental HTTP/1.1 request parser (RFC 9112): append bytes as they arrive, pull requests with `next()`.
/// Pure (no I/O, no clock), so it is fuzzed on its own. Pipelined bytes stay buffered for the next call.
struct HTTPRequestParser: Sendable {
    struct Limits: Sendable, Equatable {
        var maxRequestLineBytes: Int
        var maxHeaderBytes: Int
        var maxHeaderCount: Int
        var maxBodyBytes: Int

        init(maxRequestLineBytes: Int = 8192, maxHeaderBytes: Int = 16384, maxHeaderCount: Int = 100, maxBodyBytes: Int = 1 << 20) {
            self.maxRequestLineBytes = maxRequestLineBytes
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxBodyBytes = maxBodyBytes
        }
    }

    enum Result: Sendable {
        case needMore
        case request(HTTPRequest)
        /// The connection must answer `status` and close; the parser stays failed.
        case error(status: Int, reason: String)
    }

    private enum State: Sendable {
        case requestLine
        case headers
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed(status: Int, reason: String)
    }

    private enum Line {
        case line(start: Int, end: Int)
        case needMore
        case tooLong
        case bareLF
    }

    private static let maxChunkHeaderBytes = 4096
    private static let maxLeadingEmptyLines = 4
    private static let compactionThreshold = 64 * 1024

    let limits: Limits
    private var state: State = .requestLine
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Where the search for the next LF resumes, so a dribbling client costs O(n), not O(n²).
    private var scanIndex = 0
    private var leadingEmptyLines = 0
    private var method = ""
    private var target = ""
    private var version = ""
    private var headers = HTTPHeaders()
    private var sectionBytes = 0
    private var sectionCount = 0
    private var body: [UInt8] = []
    private var continueExpected = false

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Bytes received but not yet consumed by a returned request.
    var bufferedByteCount: Int { buffer.count - readIndex }

    /// Whether part of a request has arrived: what a read timeout answers with 408.
    var isMidRequest: Bool {
        switch state {
        case .requestLine: bufferedByteCount > 0
        case .failed: false
        default: true
        }
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    mutating func append<S: Sequence<UInt8>>(contentsOf bytes: S) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// True once per request whose header section asked for `Expect: 100-continue` (RFC 9110 §10.1.1)
    /// while its body has not fully arrived.
    mutating func takeContinueExpectation() -> Bool {
        defer { continueExpected = false }
        return continueExpected
    }

    mutating func next() -> Result {
        while true {
            switch state {
            case .failed(let status, let reason):
                return .error(status: status, reason: reason)

            case .requestLine:
                switch nextLine(maxLength: limits.maxRequestLineBytes) {
                case .needMore: return .needMore
                case .tooLong: return fail(414, "request line too long")
                case .bareLF: return fail(400, "line not terminated by CRLF")
                case .line(let start, let end):
                    if start == end {
                        // RFC 9112 §2.2: ignore at least one empty line before the request-line.
                        leadingEmptyLines += 1
                        if leadingEmptyLines > Self.maxLeadingEmptyLines { return fail(400, "empty lines before request line") }
                        continue
                    }
                    parseRequestLine(start, end)
                }

            case .headers, .trailers:
                let isTrailer: Bool = if case .trailers = state { true } else { false }
                let budget = max(limits.maxHeaderBytes - sectionBytes - 2, 0)
                switch nextLine(maxLength: budget) {
                case .needMore: return .needMore
                case .tooLong: return fail(431, isTrailer ? "trailer section too large" : "header section too large")
                case .bareLF: return fail(400, "line not terminated by CRLF")
                case .line(let start, let end):
                    if start == end {
                        if isTrailer { return finish() }
                        if let result = finishHeaders() { return result }
                        continue
                    }
                    sectionBytes += end - start + 2
                    sectionCount += 1
                    if sectionCount > limits.maxHeaderCount {
                        return fail(431, isTrailer ? "too many trailer fields" : "too many header fields")
                    }
                    // Trailer fields are validated, then discarded (RFC 9112 §7.1.2).
                    if let (name, value) = parseFieldLine(start, end), !isTrailer {
                        headers.add(name, value)
                    }
                }

            case .body(let remaining):
                let taken = takeBody(upTo: remaining)
                if taken == 0 { return .needMore }
                if taken == remaining { return finish() }
                state = .body(remaining: remaining - taken)

            case .chunkSize:
                switch nextLine(maxLength: Self.maxChunkHeaderBytes) {
                case .needMore: return .needMore
                case .tooLong: return fail(400, "chunk header too long")
                case .bareLF: return fail(400, "line not terminated by CRLF")
                case .line(let start, let end): parseChunkHeader(start, end)
                }

            case .chunkData(let remaining):
                let taken = takeBody(upTo: remaining)
                if taken == 0 { return .needMore }
                state = taken == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - taken)

            case .chunkDataEnd:
                let available = bufferedByteCount
                if available >= 1 && buffer[readIndex] != 0x0D { return fail(400, "chunk data not followed by CRLF") }
                if available < 2 { return .needMore }
                if buffer[readIndex + 1] != 0x0A { return fail(400, "chunk data not followed by CRLF") }
                readIndex += 2
                scanIndex = readIndex
                state = .chunkSize
            }
        }
    }

    // MARK: - Lines

    /// The next CRLF-terminated line, excluding the CRLF (RFC 9112 §2.2). A bare LF is rejected:
    /// accepting it where a proxy in front does not is a request-smuggling vector.
    private mutating func nextLine(maxLength: Int) -> Line {
        let count = buffer.count
        var index = max(scanIndex, readIndex)
        while index < count {
            if buffer[index] == 0x0A {
                let start = readIndex
                // Same verdict as the no-LF-yet check below, however the bytes were split.
                if index - start > maxLength + 1 { return .tooLong }
                guard index > start, buffer[index - 1] == 0x0D else { return .bareLF }
                let end = index - 1
                if end - start > maxLength { return .tooLong }
                readIndex = index + 1
                scanIndex = readIndex
                return .line(start: start, end: end)
            }
            index += 1
        }
        scanIndex = count
        // Content plus a trailing CR may still be within the limit.
        return count - readIndex > maxLength + 1 ? .tooLong : .needMore
    }

    private mutating func takeBody(upTo remaining: Int) -> Int {
        let taken = min(bufferedByteCount, remaining)
        if taken > 0 {
            body.append(contentsOf: buffer[readIndex..<(readIndex + taken)])
            readIndex += taken
            scanIndex = readIndex
        }
        return taken
    }

    private mutating func compact() {
        if readIndex == buffer.count {
            if readIndex > 0 {
                buffer.removeAll(keepingCapacity: buffer.capacity <= Self.compactionThreshold)
                readIndex = 0
                scanIndex = 0
            }
        } else if readIndex >= Self.compactionThreshold {
            buffer.removeSubrange(0..<readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
    }

    // MARK: - Request line, RFC 9112 §3

    private mutating func parseRequestLine(_ start: Int, _ end: Int) {
        let line = buffer[start..<end]
        guard let firstSpace = line.firstIndex(of: 0x20), let lastSpace = line.lastIndex(of: 0x20), firstSpace < lastSpace else {
            fail(400, "malformed request line")
            return
        }
        let methodBytes = buffer[start..<firstSpace]
        let targetBytes = buffer[(firstSpace + 1)..<lastSpace]
        let versionBytes = Array(buffer[(lastSpace + 1)..<end])
        guard HTTPSyntax.isToken(methodBytes) else {
            fail(400, "malformed method")
            return
        }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            fail(400, "malformed request target")
            return
        }
        // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3)
        guard versionBytes.count == 8, versionBytes.starts(with: "HTTP/".utf8),
              let major = Self.digitValue(versionBytes[5]), versionBytes[6] == UInt8(ascii: "."),
              let minor = Self.digitValue(versionBytes[7]) else {
            fail(400, "malformed HTTP version")
            return
        }
        guard major == 1 else {
            fail(505, "unsupported HTTP version")
            return
        }
        // A higher 1.x minor version is handled as 1.1 (RFC 9110 §6.2).
        version = minor == 0 ? "HTTP/1.0" : "HTTP/1.1"
        method = String(decoding: methodBytes, as: UTF8.self)
        guard HTTPSyntax.knownMethods.contains(method) else {
            fail(501, "method not implemented")
            return
        }
        target = String(decoding: targetBytes, as: UTF8.self)
        state = .headers
    }

    // MARK: - Fields, RFC 9112 §5

    private mutating func parseFieldLine(_ start: Int, _ end: Int) -> (String, String)? {
        // obs-fold, or whitespace before the first field line (RFC 9112 §2.2, §5.2).
        if HTTPSyntax.isWhitespace(buffer[start]) {
            fail(400, "obsolete line folding")
            return nil
        }
        guard let colon = buffer[start..<end].firstIndex(of: UInt8(ascii: ":")) else {
            fail(400, "field line without colon")
            return nil
        }
        if colon > start && HTTPSyntax.isWhitespace(buffer[colon - 1]) {
            fail(400, "whitespace between field name and colon")
            return nil
        }
        guard HTTPSyntax.isToken(buffer[start..<colon]) else {
            fail(400, "malformed field name")
            return nil
        }
        var valueStart = colon + 1
        var valueEnd = end
        while valueStart < valueEnd && HTTPSyntax.isWhitespace(buffer[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart && HTTPSyntax.isWhitespace(buffer[valueEnd - 1]) { valueEnd -= 1 }
        guard buffer[valueStart..<valueEnd].allSatisfy(HTTPSyntax.isFieldValueChar) else {
            fail(400, "invalid character in field value")
            return nil
        }
        return (String(decoding: buffer[start..<colon], as: UTF8.self),
                String(decoding: buffer[valueStart..<valueEnd], as: UTF8.self))
    }

    /// Decides how the body is framed (RFC 9112 §6.3); nil means keep parsing.
    private mutating func finishHeaders() -> Result? {
        let hosts = headers.values("Host")
        // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one otherwise.
        if hosts.count > 1 || (hosts.isEmpty && version == "HTTP/1.1") {
            return fail(400, hosts.isEmpty ? "missing Host" : "duplicate Host")
        }
        let transferEncodings = headers.values("Transfer-Encoding")
        let contentLengths = headers.values("Content-Length")
        if !transferEncodings.isEmpty {
            // Both framings at once is the classic smuggling vector (RFC 9112 §6.1, §11.2).
            if !contentLengths.isEmpty { return fail(400, "both Content-Length and Transfer-Encoding") }
            if version == "HTTP/1.0" { return fail(400, "Transfer-Encoding in HTTP/1.0") }
            guard headers.tokens("Transfer-Encoding") == ["chunked"] else { return fail(400, "unsupported transfer coding") }
            state = .chunkSize
        } else if !contentLengths.isEmpty {
            var length: Int?
            // Identical repeated values may be accepted (RFC 9110 §8.6); anything else is an attack or a bug.
            let elements = contentLengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            for element in elements.map({ $0.trimmingWhitespace() }) {
                guard !element.isEmpty, element.utf8.allSatisfy({ Self.digitValue($0) != nil }) else {
                    return fail(400, "invalid Content-Length")
                }
                guard element.utf8.count <= 18, let value = Int(element) else { return fail(413, "body too large") }
                if let length, length != value { return fail(400, "conflicting Content-Length") }
                length = value
            }
            guard let length else { return fail(400, "invalid Content-Length") }
            if length > limits.maxBodyBytes { return fail(413, "body too large") }
            if length == 0 { return finish() }
            state = .body(remaining: length)
        } else {
            return finish()
        }
        continueExpected = version == "HTTP/1.1" && headers.tokens("Expect").contains("100-continue")
        return nil
    }

    // MARK: - Chunked, RFC 9112 §7.1

    private mutating func parseChunkHeader(_ start: Int, _ end: Int) {
        var index = start
        var size = 0
        while index < end, let digit = Self.hexValue(buffer[index]) {
            size = size * 16 + digit
            // Checked per digit, so the size cannot overflow.
            if body.count + size > limits.maxBodyBytes {
                fail(413, "body too large")
                return
            }
            index += 1
        }
        guard index > start else {
            fail(400, "malformed chunk size")
            return
        }
        if index < end {
            // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ignored.
            var cursor = index
            while cursor < end && HTTPSyntax.isWhitespace(buffer[cursor]) { cursor += 1 }
            guard cursor < end, buffer[cursor] == UInt8(ascii: ";"),
                  buffer[cursor..<end].allSatisfy(HTTPSyntax.isFieldValueChar) else {
                fail(400, "malformed chunk extension")
                return
            }
        }
        if size == 0 {
            sectionBytes = 0
            sectionCount = 0
            state = .trailers
        } else {
            state = .chunkData(remaining: size)
        }
    }

    // MARK: - Helpers

    @discardableResult
    private mutating func fail(_ status: Int, _ reason: String) -> Result {
        state = .failed(status: status, reason: reason)
        continueExpected = false
        return .error(status: status, reason: reason)
    }

    private mutating func finish() -> Result {
        let request = HTTPRequest(method: method, target: target, version: version, headers: headers, body: body)
        state = .requestLine
        headers = HTTPHeaders()
        body = []
        sectionBytes = 0
        sectionCount = 0
        leadingEmptyLines = 0
        continueExpected = false
        compact()
        return .request(request)
    }

    private static func digitValue(_ byte: UInt8) -> Int? {
        (0x30...0x39).contains(byte) ? Int(byte - 0x30) : nil
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case 0x41...0x46: Int(byte - 0x41 + 10)
        case 0x61...0x66: Int(byte - 0x61 + 10)
        default: nil
        }
    }
}
