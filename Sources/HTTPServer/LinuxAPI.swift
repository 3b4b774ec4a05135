import CLinux
import Glibc

/// The Linux calls and constants the loop uses, from the CLinux shim's real headers.
enum LinuxAPI {
    static let epollIn = UInt32(EPOLLIN.rawValue)
    static let epollOut = UInt32(EPOLLOUT.rawValue)
    static let epollErr = UInt32(EPOLLERR.rawValue)
    static let epollHup = UInt32(EPOLLHUP.rawValue)
    static let epollCtlAdd = EPOLL_CTL_ADD
    static let epollCtlDel = EPOLL_CTL_DEL
    static let epollCtlMod = EPOLL_CTL_MOD
    static let epollCloexec = Int32(EPOLL_CLOEXEC)
    static let eventFDFlags = Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK)
    static let socketFlags = Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)

    static func accept4(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?,
                        _ flags: Int32) -> Int32 {
        bgpmesh_accept4(fd, address, length, flags)
    }

    static func eventFD(_ initial: UInt32, _ flags: Int32) -> Int32 {
        eventfd(initial, flags)
    }
}
