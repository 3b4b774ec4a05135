import Dispatch
import Glibc
import POSIXSupport
import Synchronization

/// Dedicated threads that run blocking libcurl calls, so they never occupy Swift's cooperative
/// pool. Each thread owns its own easy handle (never shared), and any idle thread takes the next
/// job: one slow request does not hold up the others.
///
/// One thread runs from the start and is always woken first; more start only when a job finds
/// every thread busy (up to `maxThreads`), and those end after `idleTimeout` without a job. An
/// idle agent then keeps one thread and one connection to etcd instead of four.
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
        /// The first thread waits for a job (it is woken first, so the others can go idle).
        var firstIdle = false
        /// Other threads waiting for a job and not yet woken for one.
        var othersIdle = 0
        var nextIndex = 0

        mutating func take() -> Job? {
            guard head < jobs.count else { return nil }
            let job = jobs[head]
            head += 1
            if head > 64 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            return job
        }
    }

    private enum Wake {
        case first, other, start, none
    }

    private let state = Mutex(State())
    /// The first thread's wakeups, and the others' (any one of them).
    private let firstPending = DispatchSemaphore(value: 0)
    private let othersPending = DispatchSemaphore(value: 0)
    private let name: String
    let maxThreads: Int
    let idleTimeout: Duration

    /// Starts the first thread; returns nil if it could not be started.
    init?(threads: Int, name: String, idleTimeout: Duration = .seconds(60)) {
        maxThreads = max(1, threads)
        self.name = name
        self.idleTimeout = idleTimeout
        state.withLock { $0.threads = 1 }
        guard startThread(first: true) else { return nil }
    }

    /// Threads running now (for tests).
    var runningThreads: Int { state.withLock { $0.threads } }

    /// Queues a job; false (and `reject` called) after shutdown.
    @discardableResult
    func submit(_ job: Job) -> Bool {
        let wake = state.withLock { state -> Wake? in
            guard !state.closed else { return nil }
            state.jobs.append(job)
            if state.firstIdle {
                state.firstIdle = false
                return .first
            }
            if state.othersIdle > 0 {
                state.othersIdle -= 1
                return .other
            }
            guard state.threads < maxThreads else { return Wake.none }
            state.threads += 1
            return .start
        }
        switch wake {
        case nil:
            job.reject()
            return false
        case .first?: firstPending.signal()
        case .other?: othersPending.signal()
        case .start?:
            // If no thread can start, the running ones take the job when they are done.
            if !startThread(first: false) { state.withLock { $0.threads -= 1 } }
        case .none?: break
        }
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
        firstPending.signal()
        for _ in 0..<threads { othersPending.signal() }
    }

    /// The caller has counted the thread in `state.threads`.
    private func startThread(first: Bool) -> Bool {
        let index = state.withLock { state -> Int in
            defer { state.nextIndex += 1 }
            return state.nextIndex
        }
        // Each thread holds the pool until it ends.
        return DetachedThread.spawn(name: "\(name)-\(index)", { self.work(first: first) }) == 0
    }

    private enum Step {
        case run(Job)
        case wait
        case exit
    }

    private func work(first: Bool) {
        let easy = CurlEasy()
        let timeout = Int(clamping: idleTimeout.clampedNanoseconds)
        while true {
            // The next queued job, else go idle.
            let step = state.withLock { state -> Step in
                if state.closed {
                    state.threads -= 1
                    return .exit
                }
                if let job = state.take() { return .run(job) }
                if first { state.firstIdle = true } else { state.othersIdle += 1 }
                return .wait
            }
            switch step {
            case .run(let job):
                if let easy { job.run(easy) } else { job.reject() }
                continue
            case .exit:
                return
            case .wait:
                break
            }
            if first {
                firstPending.wait()
            } else if othersPending.wait(timeout: .now() + .nanoseconds(timeout)) == .timedOut {
                // Idle for the whole timeout: end, unless every idle thread (this one too) has
                // been woken for a job, so that a wakeup is owed to this one.
                let end = state.withLock { state -> Bool in
                    guard state.othersIdle > 0 else { return false }
                    state.othersIdle -= 1
                    state.threads -= 1
                    return true
                }
                if end { return }
                othersPending.wait()
            }
        }
    }
}
