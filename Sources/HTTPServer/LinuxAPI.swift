import Glibc

/// epoll, eventfd, accept4 and pthread_setname_np, which Swift's Glibc module does not export: its umbrella header lacks
/// <sys/epoll.h> and <sys/eventfd.h> and is compiled without _GNU_SOURCE. This target has no C shim,
/// so the symbols are resolved from libc once with dlsym and called through C function pointers.
enum LinuxAPI {
    typealias EpollCreate1 = @convention(c) (Int32) -> Int32
    typealias EpollCtl = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias EpollWait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    typealias EventFD = @convention(c) (UInt32, Int32) -> Int32
    typealias Accept4 = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32

    typealias SetThreadName = @convention(c) (pthread_t, UnsafePointer<CChar>?) -> Int32

    static let epollCreate1: EpollCreate1? = symbol("epoll_create1")
    static let epollCtl: EpollCtl? = symbol("epoll_ctl")
    static let epollWait: EpollWait? = symbol("epoll_wait")
    static let eventFD: EventFD? = symbol("eventfd")
    static let accept4: Accept4? = symbol("accept4")
    static let setThreadName: SetThreadName? = symbol("pthread_setname_np")

    // <sys/epoll.h>; the values are part of the Linux ABI.
    static let epollIn: UInt32 = 0x001
    static let epollOut: UInt32 = 0x004
    static let epollErr: UInt32 = 0x008
    static let epollHup: UInt32 = 0x010
    static let epollCtlAdd: Int32 = 1
    static let epollCtlDel: Int32 = 2
    static let epollCtlMod: Int32 = 3
    // EPOLL_CLOEXEC and EFD_CLOEXEC are O_CLOEXEC; EFD_NONBLOCK is O_NONBLOCK.
    static let epollCloexec = Int32(O_CLOEXEC)
    static let eventFDFlags = Int32(O_CLOEXEC) | Int32(O_NONBLOCK)
    static let socketFlags = Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)

    // struct epoll_event { uint32_t events; epoll_data_t data; } is packed on x86_64 only.
    #if arch(x86_64)
    static let epollEventSize = 12
    static let epollDataOffset = 4
    #else
    static let epollEventSize = 16
    static let epollDataOffset = 8
    #endif

    private static func symbol<Function>(_ name: String) -> Function? {
        guard let address = dlsym(nil, name) else { return nil }
        return unsafeBitCast(address, to: Function.self)
    }
}
