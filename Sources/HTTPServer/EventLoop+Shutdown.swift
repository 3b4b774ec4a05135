extension EventLoop {
    /// Stops accepting, closes idle connections and lets in-flight requests finish until `deadline`.
    func beginShutdown(deadline: UInt64) {
        shutdownDeadline = min(shutdownDeadline ?? .max, deadline)
        wakeUp(at: deadline)
        guard !draining else { return }
        draining = true
        for listener in listeners where listener.descriptor.isOpen {
            epoll.remove(listener.descriptor.rawValue)
            listener.descriptor.close()
        }
        for connection in Array(connections.values)
        where connection.phase == .reading && !connection.parser.isMidRequest && !connection.hasPendingOutput {
            close(connection)
        }
        logger.debug("HTTP server draining", metadata: ["connections": "\(connections.count)"])
    }

    func checkShutdownProgress() {
        if connections.isEmpty {
            finished = true
        } else if let shutdownDeadline, now >= shutdownDeadline {
            logger.debug("grace period over, closing remaining connections", metadata: ["connections": "\(connections.count)"])
            for connection in Array(connections.values) { close(connection) }
            finished = true
        }
    }
}
