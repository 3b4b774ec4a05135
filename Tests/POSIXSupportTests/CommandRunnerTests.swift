import Foundation
import Glibc
import POSIXSupport
import TestSupport
import XCTest

/// The restart-command runner with real processes: exit codes, bounded output, the signal state
/// a command starts with, and the group kill on timeout.
final class CommandRunnerTests: XCTestCase {
    func testExitCodeAndBothStreamsAreCaptured() throws {
        let outcome = try CommandRunner.runBlocking(["/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7"],
                                                    timeout: .seconds(30)).get()
        XCTAssertEqual(outcome.termination, .exited(7))
        XCTAssertFalse(outcome.succeeded)
        XCTAssertTrue(outcome.outputText.contains("to-stdout"), outcome.outputText)
        XCTAssertTrue(outcome.outputText.contains("to-stderr"), outcome.outputText)
        XCTAssertFalse(outcome.outputTruncated)
        let ok = try CommandRunner.runBlocking(["/bin/true"], timeout: .seconds(30)).get()
        XCTAssertEqual(ok.termination, .exited(0))
        XCTAssertTrue(ok.succeeded)
    }

    func testAKillingSignalIsReported() throws {
        let outcome = try CommandRunner.runBlocking(["/bin/sh", "-c", "kill -KILL $$"], timeout: .seconds(30)).get()
        XCTAssertEqual(outcome.termination, .signalled(SIGKILL))
    }

    func testOutputIsBounded() throws {
        let outcome = try CommandRunner.runBlocking(["/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x"],
                                                    timeout: .seconds(30), outputLimit: 1000).get()
        XCTAssertEqual(outcome.termination, .exited(0))
        XCTAssertEqual(outcome.output.count, 1000)
        XCTAssertTrue(outcome.outputTruncated)
        XCTAssertTrue(outcome.outputText.hasSuffix("…(truncated)"))
    }

    func testAMissingProgramIsAnErrorNamingTheCall() {
        guard case .failure(let error) = CommandRunner.runBlocking(["/nonexistent/bgpmesh-restart"], timeout: .seconds(5)) else {
            return XCTFail("a missing program ran")
        }
        XCTAssertEqual(error.call, "posix_spawn")
        XCTAssertEqual(error.code, ENOENT)
    }

    /// The caller blocks SIGUSR2 and ignores SIGUSR1 (the agent's threads block and ignore
    /// signals too); the command must start with neither: an empty mask and default dispositions.
    func testTheCommandInheritsNoBlockedOrIgnoredSignal() throws {
        var block = sigset_t(), previous = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGUSR2)
        pthread_sigmask(SIG_BLOCK, &block, &previous)
        let oldHandler = signal(SIGUSR1, SIG_IGN)
        defer {
            signal(SIGUSR1, oldHandler)
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        }
        // The caller's own state, so the test shows what the command would inherit.
        let mine = try String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8)
        XCTAssertNotEqual(field("SigBlk", in: mine), 0, mine)
        XCTAssertNotEqual(field("SigIgn", in: mine), 0, mine)

        let outcome = try CommandRunner.runBlocking(["/bin/grep", "-E", "^(SigBlk|SigIgn):", "/proc/self/status"], timeout: .seconds(30)).get()
        XCTAssertEqual(outcome.termination, .exited(0), outcome.outputText)
        XCTAssertEqual(field("SigBlk", in: outcome.outputText), 0, outcome.outputText)
        // glibc's posix_spawn leaves its two internal signals (32 SIGCANCEL, 33 SIGSETXID) ignored
        // in the child (Python's os.posix_spawn shows the same); every other signal is default.
        let glibcInternal: UInt64 = 1 << 31 | 1 << 32
        let ignored = try XCTUnwrap(field("SigIgn", in: outcome.outputText), outcome.outputText)
        XCTAssertEqual(ignored & ~glibcInternal, 0, outcome.outputText)
    }

    /// `sh -c 'sleep 100 & sleep 100'`: the shell and both sleeps are one group, and the timeout
    /// kills all of it, the background sleep included.
    func testATimedOutCommandIsKilledAsAGroup() async throws {
        let outcome = try await CommandRunner.run(["/bin/sh", "-c", "sleep 100 & sleep 100"], timeout: .milliseconds(300),
                                                  killGrace: .seconds(5)).get()
        XCTAssertEqual(outcome.termination, .timedOut)
        let group = outcome.pid
        XCTAssertEqual(getpgid(outcome.pid), -1, "the shell \(outcome.pid) was not reaped")
        await waitUntil("no live process is left in group \(group)") { Self.liveMembers(ofGroup: group).isEmpty }
    }

    /// A command that ignores SIGTERM is killed after the grace period.
    func testACommandIgnoringTermIsKilledAfterTheGrace() throws {
        let outcome = try CommandRunner.runBlocking(["/bin/sh", "-c", "trap '' TERM; sleep 100 & while :; do sleep 1; done"],
                                                    timeout: .milliseconds(200), killGrace: .milliseconds(200)).get()
        XCTAssertEqual(outcome.termination, .timedOut)
        waitUntil("no live process is left in group \(outcome.pid)") { Self.liveMembers(ofGroup: outcome.pid).isEmpty }
    }

    /// A command that started a background daemon and exited is done: the runner does not wait
    /// for the daemon's end of the output pipe, and does not kill it.
    func testABackgroundDaemonOfASuccessfulCommandIsLeftRunning() throws {
        let outcome = try CommandRunner.runBlocking(["/bin/sh", "-c", "sleep 100 & echo started $!"], timeout: .seconds(30)).get()
        XCTAssertEqual(outcome.termination, .exited(0))
        let pid = try XCTUnwrap(Int32(outcome.outputText.split(separator: " ").last ?? ""), outcome.outputText)
        XCTAssertEqual(kill(pid, 0), 0, "the background sleep was killed")
        kill(pid, SIGKILL)
    }

    /// `SigBlk:\t0000000000000000` as a number.
    private func field(_ name: String, in status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return UInt64(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces), radix: 16)
        }
        return nil
    }

    /// Processes of `group` that are not zombies (reparented zombies wait for init to reap them).
    static func liveMembers(ofGroup group: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == group
        }
    }
}
