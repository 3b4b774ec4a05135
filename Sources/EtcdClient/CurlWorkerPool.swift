import Dispatch
import Glibc
import POSIXSupport
import Synchronization

/// Dedicated threads that run blocking libcurl calls, so they never occupy Swift's cooperative
/// pool. Each thread owns its own easy handle (never shared), and any idle thread takes the next
/// job: one slow request does not hold up the others.
///
/// One thread runs from the start; more start only when a job finds every thread busy (up to
/// `maxThreads`), and those end after `idleTimeout` without a job. An idle agent then keeps one
/// thread and one connection to etcd instead of four.
final class CurlWorkerPool: Sendable {
    struct Job: Sendable {
        /// Runs on a worker with that worker's handle.
        var run: @Sendable (CurlEasy) -> Void
        /// Runs instead of `run` when the pool is shut down (or the worker has no handle).
        var reject: @Sendable () -> Void
    }

    private struct State {
        var jobs: [Job] = []
        var head = 0
        var closed = false
        /// Threads started and not yet ended.
        var threads = 0
        /// Threads waiting for a job.
        var idle = 0
        var nextIndex = 0
    }

    private enum Step {
        case run(Job)
        case again
        case exit
    }

    private let state = Mutex(State())
    private let pending = DispatchSemaphore(value: 0)
    private let name: String
    let maxThreads: Int
    let idleTimeout: Duration

    /// Starts the first thread; returns nil if it could not be started.
    init?(threads: Int, name: String, idleTimeout: Duration = .seconds(60)) {
        maxThreads = max(1, threads)
        self.name = name
        self.idleTimeout = idleTimeout
        state.withLock { $0.threads = 1 }
        guard startThread(permanent: true) else { return nil }
    }

    /// Threads running now (for tests).
    var runningThreads: Int { state.withLock { $0.threads } }

    /// Queues a job; false (and `reject` called) after shutdown.
    @discardableResult
    func submit(_ job: Job) -> Bool {
        let (accepted, grow) = state.withLock { state -> (Bool, Bool) in
            guard !state.closed else { return (false, false) }
            state.jobs.append(job)
            // Every waiting thread will take one of the queued jobs; start one for the rest.
            let grow = state.jobs.count - state.head > state.idle && state.threads < maxThreads
            if grow { state.threads += 1 }
            return (true, grow)
        }
        guard accepted else {
            job.reject()
            return false
        }
        // If no thread can start, the running ones take the job in turn.
        if grow && !startThread(permanent: false) { state.withLock { $0.threads -= 1 } }
        pending.signal()
        return true
    }

    /// Rejects queued jobs and lets the threads exit once their current job ends.
    func shutdown() {
        let (dropped, threads) = state.withLock { state -> ([Job], Int) in
            guard !state.closed else { return ([], 0) }
            state.closed = true
            let rest = Array(state.jobs[state.head...])
            state.jobs = []
            state.head = 0
            return (rest, state.threads)
        }
        for job in dropped { job.reject() }
        for _ in 0..<threads { pending.signal() }
    }

    /// The caller has counted the thread in `state.threads`.
    private func startThread(permanent: Bool) -> Bool {
        let index = state.withLock { state -> Int in
            defer { state.nextIndex += 1 }
            return state.nextIndex
        }
        // Each thread holds the pool until it ends.
        return DetachedThread.spawn(name: "\(name)-\(index)", { self.work(permanent: permanent) }) == 0
    }

    private func next(woken: Bool, permanent: Bool) -> Step {
        state.withLock { state -> Step in
            state.idle -= 1
            if state.closed {
                state.threads -= 1
                return .exit
            }
            if state.head < state.jobs.count {
                let job = state.jobs[state.head]
                state.head += 1
                if state.head > 64 && state.head * 2 > state.jobs.count {
                    state.jobs.removeFirst(state.head)
                    state.head = 0
                }
                return .run(job)
            }
            if !woken && !permanent {
                state.threads -= 1
                return .exit
            }
            return .again
        }
    }

    private func work(permanent: Bool) {
        let easy = CurlEasy()
        let timeout = idleTimeout.clampedNanoseconds
        while true {
            state.withLock { $0.idle += 1 }
            let woken: Bool
            if permanent {
                pending.wait()
                woken = true
            } else {
                woken = pending.wait(timeout: .now() + .nanoseconds(Int(clamping: timeout))) == .success
            }
            switch next(woken: woken, permanent: permanent) {
            case .run(let job):
                if let easy { job.run(easy) } else { job.reject() }
            case .again:
                continue
            case .exit:
                return
            }
        }
    }
}
