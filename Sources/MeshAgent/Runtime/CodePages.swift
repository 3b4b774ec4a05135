import Glibc

/// Drops the page-table entries of the agent's code that only startup used.
///
/// Loading the agent maps most of its 17 MB of code (the kernel maps neighbouring pages on
/// each fault), so about 12 MiB of the binary and 3 MiB of the libraries count in its RSS
/// although the running agent calls a fraction of it. `MADV_DONTNEED` on a mapping that is
/// executable and was never written only unmaps its pages: they stay in the page cache, and
/// the code the agent runs comes back by minor faults. Writable, copied or anonymous pages
/// (data, relocations, heap) are never touched: a mapping qualifies only when /proc says it is
/// `r-xp` with no private dirty and no anonymous pages.
public enum CodePages {
    public struct Released: Sendable, Equatable {
        public var mappings = 0
        /// Resident KiB of those mappings before.
        public var residentKiB = 0
    }

    /// Releases the resident pages of every clean, executable, file-backed mapping of this
    /// process. Returns what it released (nothing when /proc/self/smaps cannot be read).
    @discardableResult
    public static func release() -> Released {
        guard let text = readSmaps() else { return Released() }
        var released = Released()
        for mapping in cleanCode(smaps: text) {
            let length = Int(mapping.end - mapping.start)
            guard let address = UnsafeMutableRawPointer(bitPattern: UInt(mapping.start)),
                  madvise(address, length, MADV_DONTNEED) == 0 else { continue }
            released.mappings += 1
            released.residentKiB += mapping.residentKiB
        }
        return released
    }

    struct Mapping: Equatable {
        var start: UInt64
        var end: UInt64
        var residentKiB: Int
    }

    /// The mappings of an smaps text that are file-backed, `r-xp`, resident, and hold no
    /// private dirty and no anonymous pages.
    static func cleanCode(smaps: String) -> [Mapping] {
        var out: [Mapping] = []
        var current: (mapping: Mapping, eligible: Bool, dirty: Int, anonymous: Int)?
        func finish() {
            if let c = current, c.eligible, c.dirty == 0, c.anonymous == 0, c.mapping.residentKiB > 0 { out.append(c.mapping) }
            current = nil
        }
        for line in smaps.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, let dash = first.firstIndex(of: "-"),
               let start = UInt64(first[..<dash], radix: 16), let end = UInt64(first[first.index(after: dash)...], radix: 16) {
                finish()
                // start-end perms offset dev inode [path]
                let eligible = fields.count >= 6 && fields[1] == "r-xp" && fields[4] != "0" && fields[5].hasPrefix("/")
                current = (Mapping(start: start, end: end, residentKiB: 0), eligible, 0, 0)
                continue
            }
            guard current != nil, fields.count >= 2, let value = Int(fields[1]) else { continue }
            switch fields[0] {
            case "Rss:": current?.mapping.residentKiB = value
            case "Private_Dirty:": current?.dirty = value
            case "Anonymous:": current?.anonymous = value
            default: break
            }
        }
        finish()
        return out
    }

    private static func readSmaps() -> String? {
        let fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return n == 0 ? String(decoding: bytes, as: UTF8.self) : nil }
            bytes += chunk[0..<n]
        }
    }
}
