import Glibc
import POSIXSupport

extension PinStore {
    /// The lock file that serializes writers of the pin file (the agent and `bgpmesh-agent trust`).
    public static let lockFileName = "trust-pins.lock"
    /// How long `modify` waits for another writer by default; a writer holds the lock for one
    /// load and one atomic save, milliseconds.
    public static let defaultLockTimeout: Duration = .seconds(10)

    /// Loads the pins of `directory`, applies `change`, and saves them atomically when they
    /// changed, all under an exclusive `flock(2)` on `directory/trust-pins.lock` (mode 0600), so
    /// two writers (a running agent pinning a new name, an operator's `trust forget`) never lose
    /// each other's change. The directory is created (mode 0700) when missing and refused when
    /// group or others may access it. The lock is tried without blocking until `timeout` has
    /// passed; then `.lockTimeout`. Blocks the calling thread meanwhile. Returns what `change` returns.
    @discardableResult
    public static func modify<Value>(directory: String, timeout: Duration = defaultLockTimeout,
                                      _ change: (inout PinStore) throws(PinStoreError) -> Value) throws(PinStoreError) -> Value {
        try prepareDirectory(directory)
        let lock = try PinStoreLock(path: directory + "/" + lockFileName, timeout: timeout)
        defer { lock.release() }
        let before = try load(directory: directory)
        var store = before
        let result = try change(&store)
        // Never let the closure point the store elsewhere: it was loaded from, and locked for, `directory`.
        guard store.directory == directory else {
            throw .invalidEntry(path: before.path, reason: "the change moved the store to \(store.directory)")
        }
        if store != before { try store.save() }
        return result
    }
}

/// An exclusive `flock` on the pin store's lock file, held until `release()`.
private struct PinStoreLock {
    /// How long to wait between two attempts: short against a writer that holds the lock for milliseconds.
    static let retryInterval: Duration = .milliseconds(10)

    private let handle: FileDescriptor

    init(path: String, timeout: Duration) throws(PinStoreError) {
        // O_NOFOLLOW: a symlink planted in place of the lock file is refused, not followed.
        let fd = Syscall.retryingEINTR { open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        guard fd >= 0 else { throw .lock(path: path, reason: Syscall.errorText(errno, call: "open")) }
        handle = FileDescriptor(fd)
        var info = stat()
        // The descriptor closes with `handle` when a check below throws.
        guard fstat(fd, &info) == 0 else { throw .lock(path: path, reason: Syscall.errorText(errno, call: "fstat")) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .lock(path: path, reason: "not a regular file") }
        let deadline = Deadline(after: timeout)
        while true {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return }
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else { throw .lock(path: path, reason: Syscall.errorText(code, call: "flock")) }
            guard !deadline.hasExpired else { throw .lockTimeout(path: path, waited: timeout) }
            var pause = timespec(tv_sec: 0, tv_nsec: Int(Self.retryInterval.clampedNanoseconds))
            _ = nanosleep(&pause, nil)
        }
    }

    /// Closing the descriptor releases the lock (flock locks belong to the open file description).
    func release() {
        handle.close()
    }
}
