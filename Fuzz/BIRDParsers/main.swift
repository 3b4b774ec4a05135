// libFuzzer entry for the BIRD reply framer and every parser. Built by scripts/fuzz-bird.sh
// together with the pure sources of Sources/BIRDControl (no Logging, no Dispatch, no sockets).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

private let context = BIRDTimeContext(timeZone: TimeZone(identifier: "Europe/Prague") ?? TimeZone(secondsFromGMT: 3600)!,
                                      now: Date(timeIntervalSince1970: 1_796_025_900))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBIRDParsers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    // Frame everything in one read, then again split at a data-chosen point: same replies.
    let whole = frame([bytes[...]])
    let split = size == 0 ? 0 : Int(bytes[size / 2]) % (size + 1)
    let pieces = frame([bytes[..<split], bytes[split...]])
    precondition(whole.replies == pieces.replies && whole.failed == pieces.failed, "framing depends on read boundaries")

    for reply in whole.replies {
        parseEverything(reply)
    }

    // The parsers also see input that frames badly, as if each line were a continuation.
    if whole.replies.isEmpty, size < 16_384 {
        var repaired: [UInt8] = Array("1006-".utf8)
        for byte in bytes {
            repaired.append(byte)
            if byte == 0x0A { repaired.append(0x20) }
        }
        if repaired.last == 0x20 { repaired.removeLast() }
        if repaired.last != 0x0A { repaired.append(0x0A) }
        repaired += Array("0000 \n".utf8)
        if let reply = try? BIRDReply(parsing: repaired) { parseEverything(reply) }
    }

    if size <= 80 {
        _ = BIRDTime.parse(String(decoding: bytes, as: UTF8.self), context: context)
        _ = BIRDTimer(String(decoding: bytes, as: UTF8.self))
    }
    return 0
}

private func frame(_ reads: [ArraySlice<UInt8>]) -> (replies: [BIRDReply], failed: Bool) {
    var framer = BIRDReplyFramer(limit: 1 << 20)
    var replies: [BIRDReply] = []
    do {
        for read in reads {
            framer.append(read)
            while let reply = try framer.nextReply() { replies.append(reply) }
        }
    } catch {
        _ = error.description
        return (replies, true)
    }
    return (replies, false)
}

private func parseEverything(_ reply: BIRDReply) {
    _ = reply.texts
    _ = try? BIRDStatus.parse(reply, time: context)
    if let list = try? BIRDProtocolList.parse(reply, time: context) {
        for item in list.protocols {
            _ = item.channels.count
            _ = item.bgp?.localCapabilities?.announcedAddressFamilies
        }
    }
    _ = try? BIRDRouteCount.parse(reply)
    _ = try? BIRDMemory.parse(reply)
    _ = try? BIRDBFDSessions.parse(reply, time: context)
    for line in reply.lines.prefix(64) {
        _ = BIRDTime.parse(reply.text(of: line), context: context)
    }
}
