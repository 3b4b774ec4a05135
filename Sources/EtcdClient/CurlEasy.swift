import CCurl
import Glibc

/// Process-wide libcurl setup, done once before the first handle: libcurl is loaded
/// then (see CCurl.h), so an agent without etcd never maps it. CURLOPT_NOSIGNAL (needed
/// with threads) also stops libcurl from ignoring SIGPIPE around its sends, so SIGPIPE is
/// ignored for the whole process here: a peer that closes a TLS connection must not kill it.
enum CurlGlobal {
    /// Why libcurl cannot be used (not installed, curl_global_init failed), or nil.
    static let loadError: String? = {
        _ = signal(SIGPIPE, SIG_IGN)
        return bgpmesh_curl_load().map { String(cString: $0) }
    }()

    static var initialized: Bool { loadError == nil }
}

/// One HTTP exchange as the client needs it: a POST of JSON (or a GET), with timeouts.
struct CurlRequest {
    var url: String
    /// The POST body; nil sends a GET.
    var body: [UInt8]?
    /// Extra header lines, `Name: value`.
    var headers: [String] = []
    var connectTimeout: Duration
    /// Total time of the exchange; nil for none (watch streams).
    var totalTimeout: Duration?
    var tls: EtcdClient.TLS?
}

/// Why libcurl gave up, with its code and message.
struct CurlFailure: Error, Equatable {
    var code: Int
    var message: String
    /// False when libcurl failed before the request went out (refused, resolve, TLS
    /// handshake, connect timeout): then even a mutation can safely go to another endpoint.
    var requestSent: Bool

    var isTimeout: Bool { code == Int(CURLE_OPERATION_TIMEDOUT.rawValue) }
}

/// Receives the reply body: buffered up to a limit, or handed chunk by chunk to `onChunk`.
final class CurlSink {
    let limit: Int
    private(set) var body: [UInt8] = []
    private(set) var overflowed = false
    /// Streams: each chunk as it arrives, instead of buffering. Returning false aborts the
    /// transfer (libcurl then reports CURLE_WRITE_ERROR).
    var onChunk: ((UnsafeRawBufferPointer) -> Bool)?

    init(limit: Int) {
        self.limit = limit
    }

    fileprivate func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        if let onChunk { return onChunk(chunk) }
        guard body.count + chunk.count <= limit else {
            overflowed = true
            return false
        }
        body.append(contentsOf: chunk)
        return true
    }
}

/// Owns one libcurl easy handle. Confined to the thread that created it: a worker of
/// `CurlWorkerPool` or a watch thread. The handle is reset between requests, which keeps its
/// connection cache, so a worker reuses its connection to an endpoint.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var sink: CurlSink?

    init?() {
        guard CurlGlobal.initialized, let handle = bgpmesh_curl_easy_init() else { return nil }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        bgpmesh_curl_easy_cleanup(handle)
        if let headerList { bgpmesh_curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }

    /// Sets the handle up for `request`, with the reply going to `sink`. For `perform()` or a
    /// multi handle.
    func prepare(_ request: CurlRequest, sink: CurlSink) -> CurlFailure? {
        bgpmesh_curl_easy_reset(handle)
        if let headerList { bgpmesh_curl_slist_free_all(headerList) }
        headerList = nil
        self.sink = sink
        errorBuffer[0] = 0

        var failed: CURLcode = CURLE_OK
        func check(_ code: CURLcode) { if code != CURLE_OK && failed == CURLE_OK { failed = code } }

        check(bgpmesh_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        check(bgpmesh_curl_setopt_string(handle, CURLOPT_URL, request.url))
        check(bgpmesh_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        // Never a proxy from http_proxy/https_proxy: etcd is reached directly.
        check(bgpmesh_curl_setopt_string(handle, CURLOPT_PROXY, ""))
        check(bgpmesh_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        // etcd 3.4 serves the gateway on HTTP/1.1; over TLS, ALPN would otherwise pick h2.
        check(bgpmesh_curl_setopt_long(handle, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)))
        check(bgpmesh_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout)))
        check(bgpmesh_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, request.totalTimeout.map(Self.milliseconds) ?? 0))
        // A watch may be silent for hours: TCP keepalive notices a dead peer.
        check(bgpmesh_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1))
        check(bgpmesh_curl_setopt_long(handle, CURLOPT_TCP_KEEPIDLE, 10))
        check(bgpmesh_curl_setopt_long(handle, CURLOPT_TCP_KEEPINTVL, 5))

        if let body = request.body {
            check(bgpmesh_curl_setopt_long(handle, CURLOPT_POST, 1))
            check(bgpmesh_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            // COPYPOSTFIELDS: libcurl keeps its own copy, so `body` may go away.
            check(body.withUnsafeBufferPointer { buffer in
                buffer.baseAddress.map { bgpmesh_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0)) }
                    ?? bgpmesh_curl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "")
            })
        } else {
            check(bgpmesh_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
        }

        var headers = request.headers
        if request.body != nil { headers.append("Content-Type: application/json") }
        headers.append("Expect:")
        for line in headers {
            guard let appended = bgpmesh_curl_slist_append(headerList, line) else { return CurlFailure(code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "curl_slist_append failed", requestSent: false) }
            headerList = appended
        }
        check(bgpmesh_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))

        check(bgpmesh_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque()))
        check(bgpmesh_curl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, userdata in
            guard let userdata else { return 0 }
            let sink = Unmanaged<CurlSink>.fromOpaque(userdata).takeUnretainedValue()
            let length = size * count
            return sink.receive(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
        })

        if let tls = request.tls {
            if let ca = tls.caFile { check(bgpmesh_curl_setopt_string(handle, CURLOPT_CAINFO, ca)) }
            if let cert = tls.certFile { check(bgpmesh_curl_setopt_string(handle, CURLOPT_SSLCERT, cert)) }
            if let key = tls.keyFile { check(bgpmesh_curl_setopt_string(handle, CURLOPT_SSLKEY, key)) }
        }

        guard failed == CURLE_OK else {
            return CurlFailure(code: Int(failed.rawValue), message: "curl_easy_setopt: " + Self.text(failed), requestSent: false)
        }
        return nil
    }

    /// Runs the prepared exchange on this thread, blocking until it ends or times out.
    func perform() -> CURLcode {
        bgpmesh_curl_easy_perform(handle)
    }

    /// The HTTP status after a transfer that ended with `code`, or why it failed.
    func finish(_ code: CURLcode) -> Result<Int, CurlFailure> {
        defer { sink = nil }
        guard code == CURLE_OK else {
            var pretransfer: curl_off_t = 0
            _ = bgpmesh_curl_getinfo_off(handle, CURLINFO_PRETRANSFER_TIME_T, &pretransfer)
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? Self.text(code) : detail
            return .failure(CurlFailure(code: Int(code.rawValue), message: message, requestSent: pretransfer > 0))
        }
        return .success(responseCode)
    }

    /// The HTTP status of the reply so far (0 before the status line).
    var responseCode: Int {
        var status: Int = 0
        _ = bgpmesh_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return status
    }

    static func text(_ code: CURLcode) -> String {
        String(cString: bgpmesh_curl_easy_strerror(code))
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
