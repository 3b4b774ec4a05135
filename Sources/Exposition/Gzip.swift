import CZlib

/// gzip (RFC 1952) through zlib, and `Accept-Encoding` negotiation.
public enum Gzip {
    /// True when `Accept-Encoding` allows gzip: an explicit `gzip` (or `x-gzip`)
    /// entry decides by its q; otherwise `*` decides; otherwise no.
    /// `gzip;q=0` means no, even next to `*`.
    public static func isAccepted(acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        var gzipQ: Double?
        var starQ: Double?
        for element in HeaderList.parse(acceptEncoding) {
            switch element.token {
            case "gzip", "x-gzip": gzipQ = max(gzipQ ?? 0, element.q)
            case "*": starQ = max(starQ ?? 0, element.q)
            default: continue
            }
        }
        if let gzipQ { return gzipQ > 0 }
        if let starQ { return starQ > 0 }
        return false
    }

    /// Compresses into one gzip member: deflateInit2 with windowBits 15+16 (gzip wrapper).
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) throws(GzipError) -> [UInt8] {
        // zlib keeps a back-pointer to the z_stream and checks it on every call,
        // so the stream lives at a fixed heap address, never in a movable Swift var.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        let initCode = deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                     zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initCode == Z_OK else { throw error("deflateInit2", initCode, stream) }
        defer { deflateEnd(stream) }

        // deflateBound's room is reserved, not written: only the pages the compressed
        // bytes land on become resident (about a tenth of the input for metrics text).
        let bound = max(Int(deflateBound(stream, UInt(bytes.count))), 64)
        var consumed = 0
        var produced = 0
        var finished = false
        var failure: GzipError?
        var output = [UInt8](unsafeUninitializedCapacity: bound) { out, initialized in
            bytes.withUnsafeBufferPointer { input in
                // With deflateBound's room, Z_FINISH completes; more than 4 GiB of input takes several calls.
                while !finished && produced < out.count {
                    let before = (consumed, produced)
                    let inChunk = min(input.count - consumed, Int(UInt32.max))
                    let outChunk = min(out.count - produced, Int(UInt32.max))
                    stream.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0 + consumed) }
                    stream.pointee.avail_in = UInt32(inChunk)
                    stream.pointee.next_out = out.baseAddress! + produced
                    stream.pointee.avail_out = UInt32(outChunk)
                    let flush = consumed + inChunk == input.count ? Z_FINISH : Z_NO_FLUSH
                    let code = deflate(stream, flush)
                    consumed += inChunk - Int(stream.pointee.avail_in)
                    produced += outChunk - Int(stream.pointee.avail_out)
                    stream.pointee.next_in = nil
                    stream.pointee.next_out = nil
                    if code == Z_STREAM_END {
                        finished = true
                    } else if code != Z_OK && code != Z_BUF_ERROR {
                        failure = error("deflate", code, stream)
                        break
                    } else if before == (consumed, produced) {
                        break // no progress: the growing loop below takes over
                    }
                }
            }
            initialized = produced
        }
        if let failure { throw failure }
        // Past the bound (not expected): go on in a growing buffer.
        while !finished {
            if produced == output.count {
                output.append(contentsOf: repeatElement(0, count: max(output.count, 64)))
            }
            let code: Int32 = bytes.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { out in
                    let inChunk = min(input.count - consumed, Int(UInt32.max))
                    let outChunk = min(out.count - produced, Int(UInt32.max))
                    stream.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0 + consumed) }
                    stream.pointee.avail_in = UInt32(inChunk)
                    stream.pointee.next_out = out.baseAddress! + produced
                    stream.pointee.avail_out = UInt32(outChunk)
                    let flush = consumed + inChunk == input.count ? Z_FINISH : Z_NO_FLUSH
                    let code = deflate(stream, flush)
                    consumed += inChunk - Int(stream.pointee.avail_in)
                    produced += outChunk - Int(stream.pointee.avail_out)
                    stream.pointee.next_in = nil
                    stream.pointee.next_out = nil
                    return code
                }
            }
            if code == Z_STREAM_END { break }
            // Z_BUF_ERROR only means no progress was possible with this much room: grow and go on.
            guard code == Z_OK || code == Z_BUF_ERROR else { throw error("deflate", code, stream) }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Decompresses one gzip member (windowBits 15+16). Truncated or corrupt input throws.
    public static func decompress(_ bytes: [UInt8]) throws(GzipError) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        let initCode = inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initCode == Z_OK else { throw error("inflateInit2", initCode, stream) }
        defer { inflateEnd(stream) }

        var output = [UInt8](repeating: 0, count: max(bytes.count * 4, 1024))
        var consumed = 0
        var produced = 0
        while true {
            if produced == output.count {
                output.append(contentsOf: repeatElement(0, count: output.count))
            }
            var progressed = false
            let code: Int32 = bytes.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { out in
                    let inChunk = min(input.count - consumed, Int(UInt32.max))
                    let outChunk = min(out.count - produced, Int(UInt32.max))
                    stream.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0 + consumed) }
                    stream.pointee.avail_in = UInt32(inChunk)
                    stream.pointee.next_out = out.baseAddress! + produced
                    stream.pointee.avail_out = UInt32(outChunk)
                    let code = inflate(stream, Z_NO_FLUSH)
                    let usedIn = inChunk - Int(stream.pointee.avail_in)
                    let usedOut = outChunk - Int(stream.pointee.avail_out)
                    consumed += usedIn
                    produced += usedOut
                    progressed = usedIn > 0 || usedOut > 0
                    stream.pointee.next_in = nil
                    stream.pointee.next_out = nil
                    return code
                }
            }
            if code == Z_STREAM_END { break }
            switch code {
            case Z_OK, Z_BUF_ERROR:
                // The output always has room here, so no progress means zlib is
                // waiting for input that will never come: the stream was cut short.
                if !progressed {
                    throw .zlib(call: "inflate", code: code, message: "truncated gzip stream")
                }
            case Z_NEED_DICT:
                throw .zlib(call: "inflate", code: code, message: "a preset dictionary is required")
            default:
                throw error("inflate", code, stream)
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    private static func error(_ call: String, _ code: Int32, _ stream: UnsafeMutablePointer<z_stream>) -> GzipError {
        let message: String
        if let msg = stream.pointee.msg {
            message = String(cString: msg)
        } else if let text = zError(code) {
            message = String(cString: text)
        } else {
            message = "unknown zlib error"
        }
        return .zlib(call: call, code: code, message: message)
    }
}
