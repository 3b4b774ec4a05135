import POSIXSupport
import Glibc

extension EventLoop {
    func handleEvents(_ events: UInt32, on connection: Connection) {
        if events & (LinuxAPI.epollErr | LinuxAPI.epollHup) != 0 {
            // Reset by the peer (or both directions shut): nothing can be delivered any more.
            close(connection)
            return
        }
        if events & LinuxAPI.epollOut != 0 && connection.hasPendingOutput {
            flush(connection)
        }
        if events & LinuxAPI.epollIn != 0 && !connection.isClosed
            && (connection.phase == .reading || connection.phase == .lingering) {
            readInput(connection)
        }
    }

    // MARK: - Reading

    private func readInput(_ connection: Connection) {
        var total = 0
        while total < Self.maxReadPerEvent {
            let count = Syscall.retryingEINTR { read(connection.descriptor.rawValue, readBuffer.baseAddress, readBuffer.count) }
            if count > 0 {
                total += count
                if connection.phase == .lingering {
                    connection.discardedBytes += count
                    if connection.discardedBytes > Self.maxDiscardedBytes {
                        close(connection)
                        return
                    }
                } else {
                    connection.parser.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
                }
                if count < readBuffer.count { break }
            } else if count == 0 {
                connection.peerClosed = true
                break
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                break
            } else {
                close(connection)
                return
            }
        }
        if connection.phase == .lingering {
            if connection.peerClosed { close(connection) }
            return
        }
        if connection.deadlineKind == .idle && connection.parser.isMidRequest {
            setDeadline(connection, .request, after: readTimeout)
        }
        processInput(connection)
    }

    /// Parses what is buffered: dispatches a complete request, answers an error, or waits for more.
    /// Immediate responses finish within this call and come back here through `writeFinished`;
    /// that re-entry is turned into another turn of this loop, so a buffer full of pipelined
    /// requests costs no stack depth.
    func processInput(_ connection: Connection) {
        if connection.processingInput {
            connection.moreInput = true
            return
        }
        connection.processingInput = true
        defer { connection.processingInput = false }
        repeat {
            connection.moreInput = false
            processNextRequest(connection)
        } while connection.moreInput && !connection.isClosed
    }

    private func processNextRequest(_ connection: Connection) {
        guard connection.phase == .reading, !connection.isClosed else { return }
        switch connection.parser.next() {
        case .request(var request):
            request.remoteAddress = connection.remoteAddress
            dispatch(request, on: connection)
        case .error(let status, let reason):
            logger.debug("rejecting request", metadata: [
                "status": "\(status)", "reason": "\(reason)", "remote": "\(connection.remoteAddress)",
            ])
            respondAndClose(connection, status: status, reason: reason)
        case .needMore:
            if connection.peerClosed {
                // EOF before a complete request: there is nobody to answer.
                close(connection)
                return
            }
            if !connection.parser.isMidRequest {
                if draining {
                    close(connection)
                    return
                }
                if connection.deadlineKind != .idle && connection.deadlineKind != .request {
                    setDeadline(connection, .idle, after: idleTimeout)
                }
            } else if connection.deadlineKind != .request {
                setDeadline(connection, .request, after: readTimeout)
            }
            if connection.parser.takeContinueExpectation() {
                connection.appendOutput("HTTP/1.1 100 Continue\r\n\r\n".utf8)
                flush(connection)
                return
            }
            updateInterest(connection)
        }
    }

    private func dispatch(_ request: HTTPRequest, on connection: Connection) {
        connection.inFlight = Connection.InFlight(
            method: request.method, path: request.path, version: request.version,
            keepAlive: request.wantsKeepAlive, dispatchedAt: now)
        connection.phase = .handling
        setDeadline(connection, .none, after: 0)
        if let immediate, let response = immediate(request) {
            handlerFinished(connection, response)
            return
        }
        updateInterest(connection)
        let id = connection.id
        let handler = self.handler
        // Off the loop thread: a slow handler must not stall other connections.
        Task.detached { [self] in
            let response = await handler(request)
            self.complete(id, response)
        }
    }

    // MARK: - Responding

    func handlerFinished(_ connection: Connection, _ response: HTTPResponse) {
        guard connection.phase == .handling, let inFlight = connection.inFlight else { return }
        var response = response
        if !(200...999).contains(response.status) {
            logger.error("handler returned an invalid status, sending 500", metadata: [
                "status": "\(response.status)", "path": "\(inFlight.path)",
            ])
            response = .text(500, "500 Internal Server Error\n")
        }
        let close = !inFlight.keepAlive || draining || response.headers.tokens("Connection").contains("close")
        let (head, sendsBody) = response.encodedHead(
            requestMethod: inFlight.method, close: close,
            keepAliveHeader: inFlight.version == "HTTP/1.0", date: date.now())
        observer?(HTTPExchange(
            method: inFlight.method, path: inFlight.path, status: response.status,
            duration: .nanoseconds(Int64(clamping: now &- inFlight.dispatchedAt)), remoteAddress: connection.remoteAddress))
        connection.inFlight = nil
        startWriting(connection, head, then: sendsBody ? response.body : [], close: close, linger: false)
    }

    /// Answers a request the server itself rejects (parse error, 408), then closes.
    func respondAndClose(_ connection: Connection, status: Int, reason: String) {
        let response = HTTPResponse.text(status, "\(status) \(HTTPResponse.reasonPhrase(for: status)): \(reason)\n")
        let bytes = response.encoded(requestMethod: nil, close: true, keepAliveHeader: false, date: date.now())
        observer?(HTTPExchange(method: nil, path: nil, status: status, duration: .zero, remoteAddress: connection.remoteAddress))
        startWriting(connection, bytes, close: true, linger: true)
    }

    /// Sends `bytes`, then `body`.
    func startWriting(_ connection: Connection, _ bytes: [UInt8], then body: [UInt8] = [], close: Bool, linger: Bool) {
        if connection.hasPendingOutput {
            connection.appendOutput(bytes)
            connection.appendOutput(body)
        } else {
            connection.output = bytes
            connection.outputNext = body
            connection.outputOffset = 0
        }
        connection.phase = .writing
        connection.closeAfterWrite = close
        connection.lingerAfterWrite = linger
        setDeadline(connection, .write, after: writeTimeout)
        flush(connection)
    }

    func flush(_ connection: Connection) {
        let fd = connection.descriptor.rawValue
        while connection.hasPendingOutput {
            if connection.outputOffset >= connection.output.count {
                // The head is out: the body next, without a copy.
                connection.output = connection.outputNext
                connection.outputNext = []
                connection.outputOffset = 0
                continue
            }
            // MSG_MORE while a body follows, so a small head does not leave as a packet of its own.
            let flags = Int32(MSG_NOSIGNAL) | (connection.outputNext.isEmpty ? 0 : Int32(MSG_MORE))
            let written = connection.output.withUnsafeBytes { bytes in
                let start = bytes.baseAddress! + connection.outputOffset
                let count = bytes.count - connection.outputOffset
                return Syscall.retryingEINTR { send(fd, start, count, flags) }
            }
            if written > 0 {
                connection.outputOffset += written
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                updateInterest(connection)
                return
            } else {
                // EPIPE, ECONNRESET: the client went away mid-response.
                close(connection)
                return
            }
        }
        connection.output = []
        connection.outputNext = []
        connection.outputOffset = 0
        writeFinished(connection)
    }

    private func writeFinished(_ connection: Connection) {
        guard connection.phase == .writing else {
            // An interim 100 Continue went out; keep reading the body.
            updateInterest(connection)
            return
        }
        if connection.closeAfterWrite {
            beginClose(connection)
        } else if connection.peerClosed && connection.parser.bufferedByteCount == 0 {
            close(connection)
        } else {
            connection.phase = .reading
            setDeadline(connection, .idle, after: idleTimeout)
            processInput(connection)
        }
    }

    /// After a closing response: close at once when nothing more can arrive, otherwise shut down
    /// the write side and discard input for a while, so unread bytes do not turn close into an RST
    /// that destroys the response before the client reads it.
    private func beginClose(_ connection: Connection) {
        let fd = connection.descriptor.rawValue
        var probe: UInt8 = 0
        let unread = connection.parser.bufferedByteCount > 0
            || Syscall.retryingEINTR { recv(fd, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) } > 0
        guard !connection.peerClosed, connection.lingerAfterWrite || unread else {
            close(connection)
            return
        }
        shutdown(fd, Int32(SHUT_WR))
        connection.phase = .lingering
        setDeadline(connection, .linger, after: lingerTimeout)
        updateInterest(connection)
    }

    func close(_ connection: Connection) {
        guard !connection.isClosed else { return }
        connection.isClosed = true
        epoll.remove(connection.descriptor.rawValue)
        connection.descriptor.close()
        connections[connection.id] = nil
        if connection.isRefusal {
            refusalCount -= 1
        } else {
            activeCount.subtract(1, ordering: .relaxed)
        }
    }

    func updateInterest(_ connection: Connection) {
        guard !connection.isClosed else { return }
        var events: UInt32 = 0
        switch connection.phase {
        case .reading: if !connection.peerClosed { events |= LinuxAPI.epollIn }
        case .lingering: events |= LinuxAPI.epollIn
        case .handling, .writing: break
        }
        if connection.hasPendingOutput { events |= LinuxAPI.epollOut }
        guard events != connection.registeredEvents else { return }
        connection.registeredEvents = events
        epoll.modify(connection.descriptor.rawValue, id: connection.id, events: events)
    }
}
