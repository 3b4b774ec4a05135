import Dispatch
import Glibc
import POSIXSupport
import Synchronization

/// A fixed set of dedicated threads that run blocking libcurl calls, so they never occupy
/// Swift's cooperative pool. Each thread owns its own easy handle (never shared), and any idle
/// thread takes the next job: one slow request does not hold up the others.
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
    }

    private let state = Mutex(State())
    private let pending = DispatchSemaphore(value: 0)
    let threadCount: Int

    /// Starts `threads` threads; returns nil if not even one could be started.
    init?(threads: Int, name: String) {
        threadCount = max(1, threads)
        var started = 0
        for index in 0..<threadCount {
            // Each thread holds the pool until shutdown() lets it exit.
            if DetachedThread.spawn(name: "\(name)-\(index)", { self.work() }) == 0 { started += 1 }
        }
        if started == 0 { return nil }
    }

    /// Queues a job; false (and `reject` called) after shutdown.
    @discardableResult
    func submit(_ job: Job) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.jobs.append(job)
            return true
        }
        if accepted { pending.signal() } else { job.reject() }
        return accepted
    }

    /// Rejects queued jobs and lets the threads exit once their current job ends.
    func shutdown() {
        let dropped = state.withLock { state -> [Job] in
            guard !state.closed else { return [] }
            state.closed = true
            let rest = Array(state.jobs[state.head...])
            state.jobs = []
            state.head = 0
            return rest
        }
        for job in dropped { job.reject() }
        for _ in 0..<threadCount { pending.signal() }
    }

    private func next() -> Job? {
        state.withLock { state -> Job? in
            guard !state.closed, state.head < state.jobs.count else { return nil }
            let job = state.jobs[state.head]
            state.head += 1
            if state.head > 64 && state.head * 2 > state.jobs.count {
                state.jobs.removeFirst(state.head)
                state.head = 0
            }
            return job
        }
    }

    private func work() {
        let easy = CurlEasy()
        while true {
            pending.wait()
            guard let job = next() else {
                if state.withLock({ $0.closed }) { return }
                continue
            }
            if let easy { job.run(easy) } else { job.reject() }
        }
    }
}

