import POSIXSupport
import Glibc

extension EventLoop {
    func acceptConnections(listener index: Int) {
        guard listeners.indices.contains(index), listeners[index].descriptor.isOpen else { return }
        let listenerFD = listeners[index].descriptor.rawValue
        for _ in 0..<Self.acceptBatch {
            var address = SocketAddress()
            let fd = address.withMutableSockaddr { sockaddr, length in
                Syscall.retryingEINTR { LinuxAPI.accept4(listenerFD, sockaddr, length, LinuxAPI.socketFlags) }
            }
            if fd < 0 {
                let code = errno
                switch code {
                case EAGAIN, EWOULDBLOCK:
                    return
                case ECONNABORTED, EPROTO, EPERM:
                    // The client gave up (or a firewall refused it) before accept: try the next one.
                    continue
                default:
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM and the unexpected: keep the listener, but stop
                    // polling it for a moment instead of spinning on a level-triggered event.
                    pauseListener(index, errno: code)
                    return
                }
            }
            listeners[index].failures = 0
            let descriptor = FileDescriptor(fd)
            let remote = address.description
            if activeCount.load(ordering: .relaxed) >= configuration.maxConnections || draining {
                refuse(descriptor, remoteAddress: remote)
            } else {
                register(descriptor, remoteAddress: remote)
            }
        }
    }

    private func pauseListener(_ index: Int, errno code: Int32) {
        listeners[index].failures += 1
        logger.log(level: listeners[index].failures == 1 ? .warning : .debug, "accept failed, pausing the listener", metadata: [
            "listener": "\(listeners[index].address)", "error": "\(Syscall.errorText(code)) (errno \(code))",
        ])
        epoll.remove(listeners[index].descriptor.rawValue)
        listeners[index].pausedUntil = now &+ Self.acceptBackoff
        wakeUp(at: listeners[index].pausedUntil)
    }

    func resumeListeners() {
        for index in listeners.indices where listeners[index].pausedUntil != 0 && listeners[index].descriptor.isOpen {
            if now >= listeners[index].pausedUntil {
                listeners[index].pausedUntil = 0
                epoll.add(listeners[index].descriptor.rawValue, id: UInt64(index + 1), events: LinuxAPI.epollIn)
            } else {
                wakeUp(at: listeners[index].pausedUntil)
            }
        }
    }

    private func register(_ descriptor: FileDescriptor, remoteAddress: String) {
        let connection = Connection(
            id: nextConnectionID, descriptor: descriptor, remoteAddress: remoteAddress, limits: limits, isRefusal: false)
        nextConnectionID += 1
        let error = epoll.add(descriptor.rawValue, id: connection.id, events: LinuxAPI.epollIn)
        guard error == 0 else {
            logger.warning("cannot watch an accepted connection", metadata: ["errno": "\(error)"])
            return
        }
        connection.registeredEvents = LinuxAPI.epollIn
        connections[connection.id] = connection
        activeCount.add(1, ordering: .relaxed)
        setDeadline(connection, .request, after: readTimeout)
    }

    /// Above the cap: answer 503 without ever blocking the listener, then close.
    private func refuse(_ descriptor: FileDescriptor, remoteAddress: String) {
        var response = HTTPResponse.text(503, "503 Service Unavailable: too many connections\n")
        response.headers.add("Retry-After", "1")
        let bytes = response.encoded(requestMethod: nil, close: true, keepAliveHeader: false, date: date.now())
        observer?(HTTPExchange(method: nil, path: nil, status: 503, duration: .zero, remoteAddress: remoteAddress))
        guard refusalCount < Self.maxRefusals else {
            // Too many refusals already lingering: one best-effort write into the empty socket buffer.
            _ = bytes.withUnsafeBytes { raw in
                Syscall.retryingEINTR { send(descriptor.rawValue, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            }
            descriptor.close()
            return
        }
        let connection = Connection(
            id: nextConnectionID, descriptor: descriptor, remoteAddress: remoteAddress, limits: limits, isRefusal: true)
        nextConnectionID += 1
        guard epoll.add(descriptor.rawValue, id: connection.id, events: 0) == 0 else { return }
        connections[connection.id] = connection
        refusalCount += 1
        startWriting(connection, bytes, close: true, linger: true)
    }
}
