// libFuzzer entry for the path a value under nodes/<name> takes before it can become a host
// file: RegistryRecordCheck and the host file it renders, the signed record envelope, its
// signature and the trust decision; enrollment statements; and IPPrefix, which holds records to
// the overlay prefixes. Built by scripts/fuzz-trust.sh with the pure sources of
// Sources/TincControl, Sources/MeshAgent/Registry and Sources/MeshAgent/Trust.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// NodeRecord's default agent version; the real one lives in Runtime with the build stamp.
public enum BuildInfo {
    public static let version = "fuzz"
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTrustRecords(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let record = try? JSONDecoder().decode(NodeRecord.self, from: Data(bytes))
    checkRegistryPath(bytes)
    checkSignedRecord(bytes)
    checkEnrollment(bytes)
    // IPPrefix on the lines of a short input, and on the record's addresses and subnets.
    var texts = bytes.count <= 512 ? String(decoding: bytes, as: UTF8.self).split(separator: "\n").prefix(8).map(String.init) : []
    texts += (record?.overlay.addresses ?? []).prefix(8) + (record?.overlay.subnets ?? []).prefix(8)
    checkPrefixes(texts)
    return 0
}

// MARK: RegistryRecordCheck and the host file

let nodesPrefix = "/bgpmesh/fuzz/nodes/"
/// The defaults of `registry.max-record-bytes` and `registry.max-subnets`, and the lab's overlay prefixes.
let overlayPrefixes = ["198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"].compactMap { IPPrefix($0) }
let rules = RegistryRecordCheck.Rules(maxBytes: 64 << 10, overlayPrefixes: overlayPrefixes, maxSubnets: 16)

/// The value as RegistryView gets it from etcd under `nodes/<name>`, the name taken from the
/// record itself so the fuzzer steers both the key and the value.
func checkRegistryPath(_ value: [UInt8]) {
    struct NameOnly: Decodable { var name: String }
    let recordName = (try? JSONDecoder().decode(NameOnly.self, from: Data(value)))?.name ?? "alpha"
    guard let name = RegistryRecordCheck.name(fromKey: nodesPrefix + recordName, prefix: nodesPrefix) else {
        precondition(!TincNodeName.isValid(recordName), "a valid name refused from its key")
        return
    }
    precondition(name.rawValue == recordName, "the key's name changed")
    precondition(!name.rawValue.contains("/") && !name.rawValue.contains("..") && !name.rawValue.isEmpty, "a name that is a path")
    if !value.isEmpty {
        var small = rules
        small.maxBytes = value.count - 1
        precondition(RegistryRecordCheck.check(name: name, value: value, rules: small) == .failure(.oversized),
                     "a value above max-record-bytes was not refused as oversized")
    }
    guard case let .success(valid) = RegistryRecordCheck.check(name: name, value: value, rules: rules) else { return }
    precondition(valid.name == name && valid.record.name == name.rawValue, "accepted a record for another name")
    precondition(valid.key.fingerprintSHA256 == valid.record.fingerprintSHA256, "accepted a record with another key's fingerprint")
    precondition(valid.key.modulusBits >= 1024, "accepted a short key")
    for address in valid.record.overlay.addresses {
        // Numeric text only: it reaches the probes, the status page and the overlay prefix check.
        precondition(address.utf8.allSatisfy(isAddressByte), "accepted overlay address \(address.debugDescription)")
        let host = IPPrefix(address)
        precondition(host != nil && host!.length == (host!.family == .ipv4 ? 32 : 128), "an overlay address IPPrefix does not read as a host")
    }
    // The overlay rules: every subnet and overlay address within the prefixes, no default route.
    precondition(valid.subnets.count == valid.record.overlay.subnets.count && valid.subnets.count <= rules.maxSubnets, "too many subnets")
    precondition(valid.overlayAddresses.count == valid.record.overlay.addresses.count, "an overlay address dropped")
    for prefix in valid.subnets + valid.overlayAddresses {
        precondition(!prefix.isDefault && overlayPrefixes.contains { $0.contains(prefix) }, "\(prefix) outside the overlay prefixes")
    }
    checkHostFile(valid)
    checkTrust(valid, value: value)
}

func isAddressByte(_ b: UInt8) -> Bool {
    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66) || b == UInt8(ascii: ".") || b == UInt8(ascii: ":")
}

/// Every line of the host file is one the agent writes, and tinc's reading of the file gives
/// back the record.
func checkHostFile(_ valid: ValidNodeRecord) {
    let text = valid.hostFile
    precondition(text.hasSuffix("-----END RSA PUBLIC KEY-----\n"), "the host file does not end with the key")
    var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    lines.removeLast()  // after the final newline
    precondition(lines.count >= 5, "a host file without its header or key")
    precondition(lines[0] == RegistryRecordCheck.hostFileMarker, "the first line is not the marker")
    precondition(lines[1] == "# nodes/\(valid.name.rawValue), key SHA256:\(valid.key.fingerprintSHA256)", "the second line is not the origin")
    var inKey = false
    for line in lines.dropFirst(2) {
        if inKey {
            if line == "-----END RSA PUBLIC KEY-----" { inKey = false; continue }
            precondition(!line.isEmpty && line.utf8.allSatisfy(isBase64Byte), "a key line that is not base64: \(line.debugDescription)")
        } else if line == "-----BEGIN RSA PUBLIC KEY-----" {
            inKey = true
        } else if line.isEmpty {
            continue
        } else if line.hasPrefix("Address = ") {
            precondition(RegistryRecordCheck.isSafeHost(String(line.dropFirst(10))), "unsafe Address line \(line.debugDescription)")
        } else if line.hasPrefix("Port = ") {
            precondition(Int(line.dropFirst(7)).map { (1...65535).contains($0) } == true, "bad Port line \(line.debugDescription)")
        } else if line.hasPrefix("Subnet = ") {
            precondition((try? TincSubnet(parsing: line.dropFirst(9))) != nil, "a Subnet line that does not parse back: \(line.debugDescription)")
        } else {
            preconditionFailure("a host file line the agent does not write: \(line.debugDescription)")
        }
    }
    precondition(!inKey, "an unterminated key block")

    guard let parsed = try? TincHostFile(name: valid.name.rawValue, text: text) else { preconditionFailure("tinc's reader refuses the host file") }
    precondition(parsed.addresses == valid.record.underlay.addresses.map { TincHostAddress(host: $0) }, "Address lines differ from the record")
    precondition(parsed.port == String(valid.record.underlay.port), "Port differs from the record")
    precondition(parsed.invalidSubnets.isEmpty, "a Subnet line tinc cannot read")
    let recordSubnets = valid.record.overlay.subnets.compactMap { (try? TincSubnet(parsing: Substring($0)))?.description }
    precondition(parsed.subnets.map(\.description) == recordSubnets, "Subnet lines differ from the record")
    precondition(parsed.publicKey == valid.key, "the host file holds another key")
    precondition(parsed.entries.count == parsed.addresses.count + 1 + parsed.subnets.count, "a host file entry the agent does not write")
}

func isBase64Byte(_ b: UInt8) -> Bool {
    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "+") || b == UInt8(ascii: "/")
        || b == UInt8(ascii: "=")
}

/// After the record check, the signature and the trust decision, as the registry applies them.
func checkTrust(_ valid: ValidNodeRecord, value: [UInt8]) {
    guard let signed = try? SignedRecord.decode(value) else { preconditionFailure("the record check passed an envelope that does not decode") }
    precondition(signed.record == valid.record && signed.signature == valid.signature, "the envelope and the record check read different records")
    let outcome = TrustDecision.decide(record: valid.record, key: valid.key, signature: valid.signature, pin: nil,
                                       adminKey: nil, enrollment: valid.enrollment, now: 0)
    switch outcome {
    case let .accept(newPin):
        precondition(valid.key.isValidSignature(valid.signature, for: CanonicalRecord.bytes(of: valid.record)), "accepted a bad signature")
        precondition(newPin?.fingerprintSHA256 == valid.key.fingerprintSHA256 && newPin?.source == .firstUse, "pinned another key")
        precondition(Pin.isFingerprint(newPin!.fingerprintSHA256), "a pin that is not a fingerprint")
    case .reject(.keyMismatch):
        preconditionFailure("the record check accepted the key the trust decision calls another")
    case .reject:
        break
    }
}

// MARK: signed records and enrollment statements, whatever the record check says

func checkSignedRecord(_ bytes: [UInt8]) {
    guard let signed = try? SignedRecord.decode(bytes) else { return }
    // What decodes encodes to a value that decodes to the same record and signature.
    precondition((try? SignedRecord.decode(signed.encoded())) == signed, "signed record round trip changed it")
    precondition(CanonicalRecord.bytes(of: signed.record) == CanonicalRecord.bytes(of: signed.record), "canonical bytes differ")
    guard let key = try? TincRSAPublicKey(pemText: signed.record.publicKey) else { return }
    let valid = key.isValidSignature(signed.signature, for: CanonicalRecord.bytes(of: signed.record))
    let outcome = TrustDecision.decide(record: signed.record, key: key, signature: signed.signature, pin: nil,
                                       adminKey: nil, enrollment: nil, now: 0)
    if case .accept = outcome {
        precondition(valid, "accepted a record whose signature does not verify")
    }
    // A pin for another key always refuses, whatever the signature.
    let other = Pin(fingerprintSHA256: String(repeating: "0", count: 64), pinnedAt: 0, source: .operator)
    if case .accept = TrustDecision.decide(record: signed.record, key: key, signature: signed.signature, pin: other,
                                           adminKey: nil, enrollment: nil, now: 0) {
        preconditionFailure("accepted a record pinned to another key")
    }
    // Rotation statements: a chain never reaches a pin no key has; a pin the chain starts from
    // moves only to the record's key, along a chain within the bound, for a valid record.
    if case .accept = TrustDecision.decide(record: signed.record, key: key, signature: signed.signature, pin: other,
                                           adminKey: nil, enrollment: nil, rotations: signed.rotations, now: 0) {
        preconditionFailure("a rotation chain moved a pin no key has")
    }
    if let first = signed.rotations.first?.fromPublicKey, first != key {
        let pin = Pin(fingerprintSHA256: first.fingerprintSHA256, pinnedAt: 0, source: .firstUse)
        if case .accept(let moved) = TrustDecision.decide(record: signed.record, key: key, signature: signed.signature, pin: pin,
                                                          adminKey: nil, enrollment: nil, rotations: signed.rotations, now: 0) {
            precondition(valid && moved?.source == .rotation && moved?.fingerprintSHA256 == key.fingerprintSHA256, "a chain moved a pin wrongly")
            precondition(signed.rotations.count <= RotationStatement.maxChain, "accepted a chain longer than the bound")
            precondition(signed.rotations.last?.toFingerprintSHA256 == key.fingerprintSHA256, "a chain that does not end at the key")
        }
    }
    // With an admin key and no statement, nothing is accepted.
    if case .accept = TrustDecision.decide(record: signed.record, key: key, signature: signed.signature, pin: nil,
                                           adminKey: key, enrollment: nil, now: 0) {
        preconditionFailure("accepted a record without enrollment")
    }
}

func checkEnrollment(_ bytes: [UInt8]) {
    guard let statement = try? EnrollmentStatement.decode(bytes) else { return }
    precondition((try? EnrollmentStatement.decode(statement.encoded())) == statement, "enrollment round trip changed it")
    precondition(Pin.isFingerprint(statement.fingerprintSHA256), "decoded a statement with a bad fingerprint")
    if let key = try? TincRSAPublicKey(pemText: String(decoding: bytes, as: UTF8.self)) {
        _ = statement.isSigned(by: key)
    }
}

// MARK: IPPrefix

func checkPrefixes(_ texts: [String]) {
    var prefixes: [IPPrefix] = []
    for text in texts {
        guard let prefix = IPPrefix(text) else { continue }
        precondition(text.utf8.allSatisfy { isAddressByte($0) || $0 == UInt8(ascii: "/") }, "IPPrefix read \(text.debugDescription)")
        if let strict = IPPrefix(text, strict: true) { precondition(strict == prefix, "strict and lenient parses differ") }
        // parse -> description -> parse is stable, and the description has no host bits.
        precondition(IPPrefix(prefix.description) == prefix && IPPrefix(prefix.description, strict: true) == prefix,
                     "\(text.debugDescription) -> \(prefix) does not read back")
        precondition(prefix.contains(prefix) && prefix.overlaps(prefix), "\(prefix) does not contain itself")
        precondition(prefix.isDefault == (prefix.length == 0), "default route by another length")
        prefixes.append(prefix)
    }
    // Pairs of the first four: every pair parses up to 129 more prefixes.
    for p in prefixes.prefix(4) {
        for q in prefixes.prefix(4) {
            precondition(p.overlaps(q) == q.overlaps(p), "overlaps is not symmetric: \(p) \(q)")
            if p.contains(q) && q.contains(p) { precondition(p == q, "\(p) and \(q) contain each other") }
            guard p.family == q.family else {
                precondition(!p.overlaps(q), "\(p) overlaps \(q) of another family")
                continue
            }
            // An address inside p (p's network bits, q's host bits): p contains every longer prefix
            // of it, and every shorter prefix of p contains p.
            var inside = addressBytes(q)
            let network = addressBytes(p)
            for bit in 0..<p.length {
                let mask = UInt8(0x80) >> UInt8(bit % 8)
                inside[bit / 8] = (inside[bit / 8] & ~mask) | (network[bit / 8] & mask)
            }
            let text = addressText(inside)
            for length in p.length...(inside.count * 8) {
                guard let longer = IPPrefix("\(text)/\(length)") else { preconditionFailure("\(text)/\(length) does not parse") }
                precondition(p.contains(longer) && p.overlaps(longer), "\(p) does not contain \(longer)")
            }
            for length in 0..<p.length {
                guard let shorter = IPPrefix("\(text)/\(length)") else { preconditionFailure("\(text)/\(length) does not parse") }
                precondition(shorter.contains(p) && !p.contains(shorter), "\(shorter) and \(p) are not nested")
            }
        }
    }
}

/// The network address of `prefix` as 4 or 16 bytes, read back from its description.
func addressBytes(_ prefix: IPPrefix) -> [UInt8] {
    let address = String(prefix.description.prefix { $0 != "/" })
    var raw = [UInt8](repeating: 0, count: prefix.family == .ipv4 ? 4 : 16)
    let ok = raw.withUnsafeMutableBytes { inet_pton(prefix.family == .ipv4 ? AF_INET : AF_INET6, address, $0.baseAddress) }
    precondition(ok == 1, "\(prefix) describes no address")
    return raw
}

/// inet_ntop of 4 or 16 bytes.
func addressText(_ bytes: [UInt8]) -> String {
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    let ok = bytes.withUnsafeBytes { raw in
        inet_ntop(bytes.count == 4 ? AF_INET : AF_INET6, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
    }
    precondition(ok, "inet_ntop failed")
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
