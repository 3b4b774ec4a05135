extension EventLoop {
    /// Expires overdue connections, resumes paused listeners and finds the next deadline.
    func sweepTimers() {
        nextTimerCheck = .max
        resumeListeners()
        for connection in Array(connections.values) {
            if connection.deadline != 0 && now >= connection.deadline { expire(connection) }
            if !connection.isClosed && connection.deadline != 0 { wakeUp(at: connection.deadline) }
        }
        if let shutdownDeadline { wakeUp(at: shutdownDeadline) }
    }

    private func expire(_ connection: Connection) {
        switch connection.deadlineKind {
        case .request where connection.phase == .reading && connection.parser.isMidRequest:
            logger.debug("request timed out", metadata: ["remote": "\(connection.remoteAddress)"])
            respondAndClose(connection, status: 408, reason: "request not received in time")
        case .request, .idle, .write, .linger:
            close(connection)
        case .none:
            break
        }
    }
}
