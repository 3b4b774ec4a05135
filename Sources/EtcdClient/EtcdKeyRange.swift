/// The keys a range, delete or watch applies to. Keys are UTF-8 strings here; etcd compares
/// them as bytes.
public enum EtcdKeyRange: Sendable, Hashable {
    /// Exactly this key.
    case key(String)
    /// Every key that starts with the prefix; `prefix("")` is every key.
    case prefix(String)
    /// Keys in `[from, to)`.
    case range(from: String, to: String)
    /// Every key greater than or equal to this one.
    case fromKey(String)

    /// The `key` and `range_end` fields (nil: a single key).
    var wire: (key: [UInt8], rangeEnd: [UInt8]?) {
        switch self {
        case .key(let key):
            (Array(key.utf8), nil)
        case .prefix(let prefix):
            prefix.isEmpty ? ([0], [0]) : (Array(prefix.utf8), Self.prefixEnd(Array(prefix.utf8)))
        case .range(let from, let to):
            (Array(from.utf8), Array(to.utf8))
        case .fromKey(let key):
            (key.isEmpty ? [0] : Array(key.utf8), [0])
        }
    }

    /// The first key after every key with this prefix: the prefix with its last byte below
    /// 0xff incremented and what follows dropped; `[0]` (to the end) if every byte is 0xff.
    static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }

    /// The key the range starts at, for error messages and logs.
    var firstKey: String {
        switch self {
        case .key(let key), .prefix(let key), .range(let key, _), .fromKey(let key): key
        }
    }
}
