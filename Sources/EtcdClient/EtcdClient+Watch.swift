import POSIXSupport

extension EtcdClient {
    /// Watches keys: a streaming POST to /v3/watch on a thread of its own. The stream
    /// reconnects by itself (next endpoint, backoff) and resumes after the last revision it
    /// delivered, so no change is lost or repeated across reconnects; it yields `.created`
    /// each time etcd confirms the watch. If the revision to resume from was compacted, it
    /// yields `.compacted` and ends: re-read with `range` and watch again from
    /// `header.revision + 1`. Stop iterating (or cancel the task) to close it.
    public func watch(_ keys: EtcdKeyRange, options: EtcdWatchOptions = EtcdWatchOptions()) -> EtcdWatchStream {
        let (stream, continuation) = EtcdWatchStream.makeStream(bufferingPolicy: .unbounded)
        do throws(EtcdError) {
            try Self.validate(keys, op: .watch)
            guard options.startRevision >= 0 else {
                throw .invalidArgument(op: EtcdOperation.watch.rawValue, reason: "negative start revision")
            }
        } catch {
            continuation.finish(throwing: error)
            return stream
        }
        let session = EtcdWatchSession(client: self, keys: keys, options: options, continuation: continuation)
        guard let id = register(session) else {
            continuation.finish(throwing: EtcdError.shutdown(op: EtcdOperation.watch.rawValue))
            return stream
        }
        continuation.onTermination = { _ in session.cancel() }
        let result = DetachedThread.spawn(name: "etcd-watch") {
            session.run()
            self.unregister(id)
        }
        if result != 0 {
            unregister(id)
            continuation.finish(throwing: EtcdError.transport(op: EtcdOperation.watch.rawValue, endpoint: currentEndpoint, curlCode: 0,
                                                              message: "pthread_create failed with error \(result)"))
        }
        return stream
    }
}
