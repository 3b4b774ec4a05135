import POSIXSupport
import CLinux
import Glibc

/// A level-triggered epoll instance whose registrations carry a 64-bit id.
final class Epoll {
    let descriptor: FileDescriptor
    private let events: UnsafeMutablePointer<epoll_event>
    let capacity: Int

    init(capacity: Int = 256) throws(HTTPServerError) {
        let raw = epoll_create1(LinuxAPI.epollCloexec)
        guard raw >= 0 else { throw .eventLoop(call: "epoll_create1", errno: errno) }
        descriptor = FileDescriptor(raw)
        self.capacity = capacity
        events = .allocate(capacity: capacity)
    }

    deinit {
        events.deallocate()
    }

    /// Returns 0, or the errno of epoll_ctl.
    @discardableResult
    func add(_ fd: Int32, id: UInt64, events mask: UInt32) -> Int32 {
        control(LinuxAPI.epollCtlAdd, fd, id: id, events: mask)
    }

    @discardableResult
    func modify(_ fd: Int32, id: UInt64, events mask: UInt32) -> Int32 {
        control(LinuxAPI.epollCtlMod, fd, id: id, events: mask)
    }

    @discardableResult
    func remove(_ fd: Int32) -> Int32 {
        control(LinuxAPI.epollCtlDel, fd, id: 0, events: 0)
    }

    /// Number of ready events, or -1 with errno set (EINTR is retried).
    func wait(timeoutMilliseconds: Int32) -> Int {
        Int(Syscall.retryingEINTR { epoll_wait(descriptor.rawValue, events, Int32(capacity), timeoutMilliseconds) })
    }

    func event(at index: Int) -> (id: UInt64, events: UInt32) {
        (events[index].data.u64, events[index].events)
    }

    private func control(_ operation: Int32, _ fd: Int32, id: UInt64, events mask: UInt32) -> Int32 {
        var event = epoll_event()
        event.events = mask
        event.data.u64 = id
        let result = Syscall.retryingEINTR { epoll_ctl(descriptor.rawValue, operation, fd, &event) }
        return result == 0 ? 0 : errno
    }
}
