// libFuzzer entry point for HTTPRequestParser, compiled together with the parser's source files
// only (see scripts/fuzz-http.sh). The first input byte picks the limits and a split point; the
// rest is fed whole, in two pieces and byte by byte, and all three must parse identically.

private struct Outcome: Equatable {
    var requests: [String] = []
    var error: Int?
    var pending = false
}

private func parse<S: Collection<UInt8>>(_ pieces: [S], limits: HTTPRequestParser.Limits) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = Outcome()
    for piece in pieces {
        parser.append(contentsOf: piece)
        while outcome.error == nil {
            switch parser.next() {
            case .needMore:
                break
            case .request(let request):
                check(request, limits)
                outcome.requests.append(describe(request))
                continue
            case .error(let status, _):
                require([400, 408, 413, 414, 431, 501, 505].contains(status), "unexpected status \(status)")
                outcome.error = status
            }
            break
        }
    }
    outcome.pending = outcome.error == nil && parser.isMidRequest
    return outcome
}

/// fatalError keeps its message in -O builds, unlike precondition.
private func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

private func check(_ request: HTTPRequest, _ limits: HTTPRequestParser.Limits) {
    require(request.body.count <= limits.maxBodyBytes, "body over the limit")
    require(request.headers.count <= limits.maxHeaderCount, "too many headers")
    require(request.target.utf8.count <= limits.maxRequestLineBytes, "target over the limit")
    require(request.version == "HTTP/1.1" || request.version == "HTTP/1.0", "bad version")
    require(!request.target.isEmpty && !request.method.isEmpty, "empty method or target")
    for (name, value) in request.headers {
        require(!name.isEmpty && !name.utf8.contains(where: { $0 <= 0x20 || $0 == UInt8(ascii: ":") }), "bad name")
        require(!value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }), "control in value")
    }
}

private func describe(_ request: HTTPRequest) -> String {
    "\(request.method) \(request.target) \(request.version) \(request.headers) \(request.body)"
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let selector = Int(bytes[0])
    let input = bytes[1...]
    let limits = HTTPRequestParser.Limits(
        maxRequestLineBytes: 16 + selector * 4, maxHeaderBytes: 64 + selector * 16,
        maxHeaderCount: 1 + selector % 32, maxBodyBytes: selector * 64)
    let split = input.startIndex + (input.isEmpty ? 0 : selector % (input.count + 1))

    let whole = parse([input], limits: limits)
    let halves = parse([input[..<split], input[split...]], limits: limits)
    require(whole == halves, "split at \(split) changed the result")
    if input.count <= 2048 {
        let single = parse(input.map { [$0] }, limits: limits)
        require(whole == single, "byte-by-byte feeding changed the result")
    }
    return 0
}
