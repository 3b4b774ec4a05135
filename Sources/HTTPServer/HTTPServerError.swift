import POSIXSupport
import Glibc

/// Everything that can go wrong when starting an `HTTPServer`; each case carries the call and errno.
public enum HTTPServerError: Error, CustomStringConvertible, Equatable {
    /// The listen address could not be parsed.
    case invalidListenAddress(String, reason: String)
    /// bind(2) failed, e.g. EADDRINUSE or EADDRNOTAVAIL.
    case bind(address: String, errno: Int32)
    /// Another call on the listening socket failed: socket, setsockopt, listen, getsockname.
    case socket(address: String, call: String, errno: Int32)
    /// The event loop could not be set up: epoll_create1, eventfd, epoll_ctl, pthread_create.
    case eventLoop(call: String, errno: Int32)
    case alreadyStarted
    case alreadyShutDown

    public var description: String {
        switch self {
        case .invalidListenAddress(let address, let reason):
            "invalid listen address \"\(address)\": \(reason)"
        case .bind(let address, let code):
            "cannot listen on \(address): \(Syscall.errorText(code, call: "bind"))"
        case .socket(let address, let call, let code):
            "cannot listen on \(address): \(Syscall.errorText(code, call: call))"
        case .eventLoop(let call, let code):
            "cannot start the HTTP event loop: \(Syscall.errorText(code, call: call))"
        case .alreadyStarted:
            "the HTTP server is already running"
        case .alreadyShutDown:
            "the HTTP server was shut down and cannot be started again"
        }
    }
}
