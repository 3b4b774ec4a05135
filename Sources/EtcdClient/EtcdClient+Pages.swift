/// Every key of a range, read in pages at one revision.
public struct EtcdRangePages: Sendable, Hashable {
    /// Sorted by key, ascending.
    public var kvs: [EtcdKeyValue]
    /// The store revision every page was read at.
    public var revision: Int64
    /// Range calls that returned keys or ended the range (retries with a smaller page not counted).
    public var pages: Int

    public init(kvs: [EtcdKeyValue], revision: Int64, pages: Int) {
        self.kvs = kvs
        self.revision = revision
        self.pages = pages
    }
}

extension EtcdClient {
    /// The smallest reply limit of a paged read: one key holding a value as large as etcd 3.4
    /// accepts by default (`--max-request-bytes`, 1.5 MiB), base64 in the gateway's JSON (4/3),
    /// with room for a long key and the header. A page of one key always fits.
    public static let minimumPageBytes = 4 << 20

    /// The longest line of a watch stream: as for a page, at least one event with a value as
    /// large as etcd accepts, whatever `maxResponseBytes` says.
    var watchLineLimit: Int { max(configuration.maxResponseBytes, Self.minimumPageBytes) }

    /// Reads a range in pages of at most `pageSize` keys (etcd's `limit`), every page at the
    /// revision of the first one (or at `revision`), each page continuing after the last key
    /// of the one before. A page whose reply exceeds `maxPageBytes` is asked again with half
    /// as many keys, down to one; after a page that fits, the size doubles again up to
    /// `pageSize`. `maxPageBytes` defaults to the larger of `maxResponseBytes` and
    /// `minimumPageBytes`. Throws `.tooLarge` only for a single key larger than that.
    public func rangeAll(_ keys: EtcdKeyRange, pageSize: Int64 = 256, revision: Int64 = 0,
                         maxPageBytes: Int? = nil) async throws(EtcdError) -> EtcdRangePages {
        var kvs: [EtcdKeyValue] = []
        let read = try await rangePages(keys, pageSize: pageSize, revision: revision, maxPageBytes: maxPageBytes) { kvs += $0 }
        return EtcdRangePages(kvs: kvs, revision: read.revision, pages: read.pages)
    }

    /// `rangeAll`, handing each page to `body` as it arrives instead of keeping them all (a
    /// caller can drop what it does not need). Returns the revision and the number of pages.
    public func rangePages(_ keys: EtcdKeyRange, pageSize: Int64 = 256, revision: Int64 = 0, maxPageBytes: Int? = nil,
                           _ body: ([EtcdKeyValue]) -> Void) async throws(EtcdError) -> (revision: Int64, pages: Int) {
        try Self.validate(keys, op: .range)
        guard pageSize >= 1, revision >= 0 else {
            throw .invalidArgument(op: EtcdOperation.range.rawValue, reason: "page size below 1 or negative revision")
        }
        let replyLimit = maxPageBytes ?? max(configuration.maxResponseBytes, Self.minimumPageBytes)
        let wire = keys.wire
        var start = wire.key
        var atRevision = revision
        var limit = pageSize
        var pages = 0
        while true {
            let options = EtcdRangeOptions(limit: wire.rangeEnd == nil ? 0 : limit, revision: atRevision)
            let request = EtcdWire.encode(WireRangeRequest(key: start, rangeEnd: wire.rangeEnd, options))
            let page: EtcdRangeResponse
            do throws(EtcdError) {
                page = try await call(.range, path: "/v3/kv/range", body: request, responseLimit: replyLimit) { reply throws(EtcdError) in
                    try reply.decode(.range, EtcdWire.range)
                }
            } catch where Self.pageTooLarge(error) && limit > 1 {
                limit = max(1, limit / 2)
                logger.debug("etcd range page too large; asking for fewer keys",
                             metadata: ["key": .string(keys.firstKey), "limit": .stringConvertible(limit), "error": .string(error.description)])
                continue
            }
            pages += 1
            if atRevision == 0 { atRevision = page.header.revision }
            body(page.kvs)
            guard page.more else { return (atRevision, pages) }
            guard let last = page.kvs.last else {
                throw .malformed(op: EtcdOperation.range.rawValue, endpoint: currentEndpoint, reason: "a range page with more keys but none in it")
            }
            start = last.key + [0]
            limit = min(pageSize, limit * 2)
        }
    }

    /// A page that does not fit: larger than the reply limit here, or than a gRPC message
    /// limit between the gateway and etcd ("grpc: received message larger than max").
    static func pageTooLarge(_ error: EtcdError) -> Bool {
        switch error {
        case .tooLarge: true
        case .unavailable(_, let errors): errors.last.map(pageTooLarge) ?? false
        default: error.grpcCode == .resourceExhausted
        }
    }
}
