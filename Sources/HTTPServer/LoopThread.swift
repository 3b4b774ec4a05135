import Glibc

/// Starts a detached pthread, so blocking epoll_wait never occupies Swift's cooperative pool.
enum LoopThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Returns 0 or the pthread_create error number.
    static func spawn(name: String, _ run: @escaping @Sendable () -> Void) -> Int32 {
        let context = Unmanaged.passRetained(Body(run)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            Unmanaged<Body>.fromOpaque(context).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return result
        }
        _ = LinuxAPI.setThreadName(thread, String(name.prefix(15)))
        pthread_detach(thread)
        return 0
    }
}
