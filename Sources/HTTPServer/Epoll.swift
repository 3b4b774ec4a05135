import Glibc

/// A level-triggered epoll instance whose registrations carry a 64-bit id.
final class Epoll {
    let descriptor: FileDescriptor
    private let events: UnsafeMutableRawPointer
    let capacity: Int

    init(capacity: Int = 256) throws(HTTPServerError) {
        guard let create = LinuxAPI.epollCreate1, LinuxAPI.epollCtl != nil, LinuxAPI.epollWait != nil else {
            throw .eventLoop(call: "dlsym(epoll)", errno: ENOSYS)
        }
        let raw = create(LinuxAPI.epollCloexec)
        guard raw >= 0 else { throw .eventLoop(call: "epoll_create1", errno: errno) }
        descriptor = FileDescriptor(raw)
        self.capacity = capacity
        events = .allocate(byteCount: capacity * LinuxAPI.epollEventSize, alignment: 8)
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
        guard let wait = LinuxAPI.epollWait else { return -1 }
        return Int(Syscall.retryingEINTR { wait(descriptor.rawValue, events, Int32(capacity), timeoutMilliseconds) })
    }

    func event(at index: Int) -> (id: UInt64, events: UInt32) {
        let base = index * LinuxAPI.epollEventSize
        return (events.loadUnaligned(fromByteOffset: base + LinuxAPI.epollDataOffset, as: UInt64.self),
                events.loadUnaligned(fromByteOffset: base, as: UInt32.self))
    }

    private func control(_ operation: Int32, _ fd: Int32, id: UInt64, events mask: UInt32) -> Int32 {
        guard let ctl = LinuxAPI.epollCtl else { return ENOSYS }
        var event = [UInt8](repeating: 0, count: LinuxAPI.epollEventSize)
        let result = event.withUnsafeMutableBytes { raw -> Int32 in
            raw.storeBytes(of: mask, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: id, toByteOffset: LinuxAPI.epollDataOffset, as: UInt64.self)
            return Syscall.retryingEINTR { ctl(descriptor.rawValue, operation, fd, raw.baseAddress) }
        }
        return result == 0 ? 0 : errno
    }
}
