import CLinux
import Glibc

/// Starts a detached, named pthread, so a blocking loop (epoll_wait, curl) never
/// occupies Swift's cooperative pool.
public enum DetachedThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Returns 0 or the pthread_create error number. Linux keeps 15 characters of the name.
    public static func spawn(name: String, _ run: @escaping @Sendable () -> Void) -> Int32 {
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
        _ = bgpmesh_set_thread_name(UInt(thread), String(name.prefix(15)))
        pthread_detach(thread)
        return 0
    }
}
