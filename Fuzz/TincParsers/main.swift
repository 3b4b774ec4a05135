// libFuzzer entry for the tinc log block finder and every pure tinc parser. Built by
// scripts/fuzz-tinc.sh together with the pure sources of Sources/TincControl (no Logging, no
// Dispatch, no file or socket I/O).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTincParsers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)

    // The block finder on the whole input, with and without a pid filter.
    let scan = TincLogScanner.scan(bytes)
    precondition(scan.consumedBytes <= bytes.count, "consumed more than the input")
    let dump = TincLogParser.parse(scan)
    if let pid = scan.blocks.first?.pid {
        let filtered = TincLogScanner.scan(bytes, pid: pid)
        precondition(filtered.blocks.allSatisfy { $0.pid == pid }, "pid filter leaked another pid's block")
        _ = TincLogParser.parse(filtered, pid: pid)
    }
    _ = dump.merged(connections: dump)
    // Scanning a prefix that ends at a newline finds no block the whole input does not have
    // (the prefix may only miss blocks, never invent them).
    if let newline = bytes.prefix(size / 2).lastIndex(of: 0x0A) {
        let prefix = TincLogScanner.scan(Array(bytes[...newline]))
        precondition(prefix.blocks.count <= scan.blocks.count, "a prefix has more complete blocks than the whole")
    }

    // Every line through every line parser.
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(64) {
        _ = TincLogLine(line)
        _ = try? TincNode(tinc10Line: line)
        _ = try? TincEdge(tinc10Line: line)
        _ = try? TincConnection(tinc10Line: line)
        _ = try? TincSubnet(tinc10Line: line)
        _ = try? TincNode(tinc11Item: line)
        _ = TincNode.tinc11Dialect(ofItem: line)
        _ = try? TincEdge(tinc11Item: line)
        _ = try? TincSubnet(tinc11Item: line)
        _ = try? TincConnection(tinc11Item: line)
        _ = try? TincSubnet(parsing: line)
        for request in TincControlRequest.allCases {
            if case .item(let item)? = try? TincControlParser.reply(line, to: request) {
                _ = try? TincNode(tinc11Item: item)
            }
        }
        _ = try? TincControlParser.greeting(idLine: line, ackLine: line)
        _ = TincNodeName.isValid(String(line))
    }
    for block in scan.blocks where block.kind == .deviceStatistics {
        _ = try? TincDeviceStatistics(tinc10Block: block)
    }

    // Pidfile, command line, configuration, host file, key.
    _ = try? TincPidfile(parsing: text)
    _ = TincLogDestination.from(arguments: text.split(separator: "\u{0}").prefix(64).map(String.init))
    _ = try? TincConfigParser.parse(text, file: "fuzz")
    _ = try? TincServerConfig.parse(tincConf: text, confD: [("conf.d/a.conf", text)])
    if let host = try? TincHostFile(name: "fuzz", text: text) {
        _ = host.publicKey?.fingerprintSHA256
    }
    if let key = try? TincRSAPublicKey(pkcs1DER: bytes) {
        // A key that parses round-trips through its own PEM.
        precondition((try? TincRSAPublicKey(pemText: key.pem)) == key, "PEM round trip changed the key")
    }
    if let key = try? TincRSAPublicKey(pemText: text) {
        precondition((try? TincRSAPublicKey(pemText: key.pem)) == key, "PEM round trip changed the key")
        precondition((try? TincRSAPublicKey(subjectPublicKeyInfoDER: key.subjectPublicKeyInfoDER)) == key, "SPKI round trip changed the key")
    }
    if let key = try? TincRSAPublicKey(subjectPublicKeyInfoDER: bytes) {
        precondition(key.subjectPublicKeyInfoDER == bytes, "a parsed SubjectPublicKeyInfo is not canonical")
    }
    return 0
}
