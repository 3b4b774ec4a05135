import Foundation
import XCTest
@testable import MeshLab

/// The chaos runner's pure parts, without a lab: the seeded plan and the invariant checks on
/// made-up evidence.
final class LabChaosPlanTests: XCTestCase {
    let nodes = ["node1", "node2", "node3", "node4"]
    let members = ["node1", "node2", "node3"]

    func plan(_ seed: UInt64, _ faults: [ChaosFault] = ChaosFault.allCases) throws -> ChaosPlan {
        try ChaosPlan(seed: seed, faults: faults, nodes: nodes, etcdMembers: members, holdRange: 5...30, gapRange: 3...10)
    }

    func steps(_ seed: UInt64, _ count: Int, _ faults: [ChaosFault] = ChaosFault.allCases) throws -> [ChaosStep] {
        var p = try plan(seed, faults)
        return (0..<count).map { _ in p.next() }
    }

    /// The first outputs of splitmix64 for seed 1234567, as the reference implementation
    /// (Vigna's splitmix64.c) prints them.
    func testSplitMix64MatchesTheReferenceSequence() {
        var g = SplitMix64(seed: 1_234_567)
        XCTAssertEqual((0..<5).map { _ in g.next() },
                       [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821])
    }

    func testBelowStaysInRangeAndReachesEveryValue() {
        var g = SplitMix64(seed: 7)
        var seen = Set<Int>()
        for _ in 0..<2000 {
            let v = g.below(7)
            XCTAssertTrue((0..<7).contains(v))
            seen.insert(v)
        }
        XCTAssertEqual(seen, Set(0..<7))
    }

    func testTheSameSeedGivesTheSameSteps() throws {
        XCTAssertEqual(try steps(1, 50), try steps(1, 50))
        XCTAssertEqual(try steps(42, 50), try steps(42, 50))
        XCTAssertNotEqual(try steps(1, 50), try steps(2, 50))
    }

    /// Seed 1's first steps, written down: a change of the generator, of the drawing order or of
    /// the catalogue changes every recorded run, so it must show here. (Recorded again when `loss`
    /// joined the catalogue; the eleven faults before it still give the old sequence.)
    func testSeedOneStartsAsRecorded() throws {
        let first = try steps(1, 4)
        XCTAssertEqual(first.map(\.label), ["netem node3 loss 40% delay 50ms", "etcd-nospace", "fill-disk node4", "fill-disk node1"])
        XCTAssertEqual(first.map(\.hold), [16, 18, 17, 20])
        let before = try steps(1, 4, ChaosFault.allCases.filter { $0 != .loss })
        XCTAssertEqual(before.map(\.label), ["netem node3 loss 40% delay 50ms", "fill-disk node2", "isolate node4", "isolate node1"])
    }

    func testEveryStepIsWellFormed() throws {
        for s in try steps(3, 500) {
            XCTAssertTrue((5...30).contains(s.hold), "\(s)")
            XCTAssertTrue((3...10).contains(s.gap), "\(s)")
            switch s.fault {
            case .etcdNospace:
                XCTAssertNil(s.node)
            case .pauseEtcd:
                XCTAssertTrue(members.contains(s.node ?? ""), "\(s)")
            case .corruptHostFile:
                XCTAssertTrue(nodes.contains(s.node ?? ""))
                XCTAssertTrue(nodes.contains(s.peer ?? ""))
                XCTAssertNotEqual(s.node, s.peer)
            case .netem:
                XCTAssertTrue([10, 15, 20, 25, 30, 35, 40].contains(s.loss ?? -1), "\(s)")
                XCTAssertTrue([0, 20, 50, 100].contains(s.delay ?? -1), "\(s)")
                XCTAssertNotEqual(s.node, s.peer)
                XCTAssertEqual(s.both != nil, s.peer != nil)
            case .loss:
                XCTAssertTrue([10, 15, 20, 25, 30, 35, 40].contains(s.loss ?? -1), "\(s)")
                XCTAssertNil(s.delay, "XDP loss has no delay: \(s)")
                XCTAssertTrue(nodes.contains(s.node ?? ""))
                XCTAssertNotEqual(s.node, s.peer)
                XCTAssertEqual(s.both != nil, s.peer != nil)
            default:
                XCTAssertTrue(nodes.contains(s.node ?? ""))
                XCTAssertNil(s.peer)
            }
        }
    }

    func testThePlanDrawsEveryFaultAndOnlyTheChosenOnes() throws {
        XCTAssertEqual(Set(try steps(5, 400).map(\.fault)), Set(ChaosFault.allCases))
        XCTAssertEqual(Set(try steps(5, 100, [.isolate, .netem]).map(\.fault)), [.isolate, .netem])
    }

    /// A fault's own parameters never shift the next step: restricting the faults to one kind
    /// keeps the nodes and holds of every step.
    func testEveryStepDrawsTheSameAmount() throws {
        let a = try steps(9, 30, [.pauseTincd]), b = try steps(9, 30, [.killTincd])
        XCTAssertEqual(a.map(\.node), b.map(\.node))
        XCTAssertEqual(a.map(\.hold), b.map(\.hold))
    }

    func testFaultListsAndDurationsParseOrSayWhatIsWrong() throws {
        XCTAssertEqual(try ChaosFault.parseList("isolate, netem,isolate"), [.isolate, .netem])
        XCTAssertEqual(try ChaosFault.parseList("all"), ChaosFault.allCases)
        XCTAssertThrowsError(try ChaosFault.parseList("isolate,explode")) { e in
            XCTAssertTrue("\(e)".contains("\"explode\""), "\(e)")
        }
        XCTAssertThrowsError(try ChaosFault.parseList(","))
        XCTAssertEqual(ChaosDuration.parse("10m"), 600)
        XCTAssertEqual(ChaosDuration.parse("90s"), 90)
        XCTAssertEqual(ChaosDuration.parse("1h"), 3600)
        XCTAssertEqual(ChaosDuration.parse("120"), 120)
        XCTAssertNil(ChaosDuration.parse("ten minutes"))
        XCTAssertNil(ChaosDuration.parse("-5s"))
        XCTAssertEqual(ChaosPlan.holdRange(duration: 120), 5...18)
        XCTAssertEqual(ChaosPlan.holdRange(duration: 600), 5...45)
        XCTAssertThrowsError(try ChaosPlan(seed: 1, faults: [], nodes: nodes, etcdMembers: members, holdRange: 5...6, gapRange: 1...2))
        XCTAssertThrowsError(try ChaosPlan(seed: 1, faults: [.isolate], nodes: ["node1"], etcdMembers: [], holdRange: 5...6, gapRange: 1...2))
    }

    // MARK: files

    let base = FileSnapshot(entries: [
        "node1 hosts/node2": "a", "node1 hosts/node3": "b", "node1 ConnectTo": "c", "node1 rsa_key.priv": "d",
        "node2 hosts/node1": "e", "node2 hosts/node3": "f", "node2 ConnectTo": "g", "node2 rsa_key.priv": "h",
    ])

    func with(_ changes: [String: String?]) -> FileSnapshot {
        var s = base
        for (k, v) in changes { s.entries[k] = v }
        return s
    }

    func testUnchangedFilesAndNewFilesAreNoViolation() {
        XCTAssertEqual(ChaosInvariants.fileViolations(baseline: base, current: base, scope: .none, isolated: nil), [])
        XCTAssertEqual(ChaosInvariants.fileViolations(baseline: base, current: with(["node1 hosts/node9": "z"]), scope: .none, isolated: nil), [])
    }

    func testLostOrGarbledFilesOutsideTheScopeAreViolations() {
        let cur = with(["node1 hosts/node2": "x", "node2 rsa_key.priv": nil, "node2 ConnectTo": "y"])
        XCTAssertEqual(ChaosInvariants.fileViolations(baseline: base, current: cur, scope: .none, isolated: nil),
                       ["node1 hosts/node2 garbled (content changed)", "node2 ConnectTo lines changed", "node2 rsa_key.priv lost"])
        XCTAssertEqual(ChaosInvariants.fileViolations(baseline: base, current: cur,
                                                      scope: FileScope(entries: ["node1 hosts/node2"]), isolated: nil),
                       ["node2 ConnectTo lines changed", "node2 rsa_key.priv lost"])
        XCTAssertEqual(ChaosInvariants.fileViolations(baseline: base, current: cur, scope: FileScope(nodes: ["node2"]), isolated: nil),
                       ["node1 hosts/node2 garbled (content changed)"])
    }

    func testAnIsolatedNodeThatRemovesAPeersFileBreaksQuorum() {
        let cur = with(["node2 hosts/node3": nil])
        XCTAssertEqual(ChaosInvariants.fileViolations(baseline: base, current: cur, scope: .none, isolated: "node2"),
                       ["quorum: isolated node2 removed hosts/node3"])
        XCTAssertEqual(ChaosInvariants.fileViolations(baseline: base, current: cur, scope: .none, isolated: "node1"),
                       ["node2 hosts/node3 lost"])
    }

    func testSnapshotsSeeGarbageAndLossButNotReorderedConnectTo() throws {
        let dir = NSTemporaryDirectory() + "bml-chaos-unit-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = NodeSpec(index: 1, stateDir: dir)
        try FileManager.default.createDirectory(atPath: n.tincHostsDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: n.tincConfD, withIntermediateDirectories: true)
        try "Name = node1\n".write(toFile: n.tincConf, atomically: true, encoding: .utf8)
        try "ConnectTo = node2\nConnectTo = node3\n".write(toFile: "\(n.tincConfD)/bgpmesh.conf", atomically: true, encoding: .utf8)
        try "Address = 192.0.2.2\n".write(toFile: "\(n.tincHostsDir)/node2", atomically: true, encoding: .utf8)
        try "KEY".write(toFile: "\(n.tincDir)/rsa_key.priv", atomically: true, encoding: .utf8)
        let before = FileSnapshot.take([n])
        XCTAssertEqual(Set(before.entries.keys), ["node1 hosts/node2", "node1 ConnectTo", "node1 rsa_key.priv"])
        try "ConnectTo=node3\nConnectTo = node2\n".write(toFile: "\(n.tincConfD)/bgpmesh.conf", atomically: true, encoding: .utf8)
        XCTAssertEqual(FileSnapshot.take([n]), before, "the same ConnectTo lines in another order and spacing")
        try Data([0xde, 0xad, 0xbe, 0xef]).write(to: URL(fileURLWithPath: "\(n.tincHostsDir)/node2"))
        try FileManager.default.removeItem(atPath: "\(n.tincDir)/rsa_key.priv")
        XCTAssertEqual(ChaosInvariants.fileViolations(baseline: before, current: FileSnapshot.take([n]), scope: .none, isolated: nil),
                       ["node1 hosts/node2 garbled (content changed)", "node1 rsa_key.priv lost"])
    }

    // MARK: repairs

    func ev(_ node: String, _ t: Double, _ action: String = "tinc_retry", _ target: String = "",
            trigger: String = "auto", result: String = "ok") -> RepairEvent {
        RepairEvent(node: node, time: 1_000_000 + t, action: action, target: target, trigger: trigger, result: result)
    }

    func testTheLadderAllowsFiveAttemptsAMinuteWithTheAgentsDefaults() {
        XCTAssertEqual(RepairLimits().loopLimit, 5)
        var l = RepairLimits()
        l.cooldown = 10
        XCTAssertEqual(l.loopLimit, 3) // 0, 10, 30 (70 is past the window)
    }

    func testRepairsWithinTheRateLimitAreFine() {
        // 10 in a minute, each on another target: at the limit, not over it.
        let events = (0..<10).map { ev("node2", Double($0) * 5, "bgp_restart", "node\($0)") }
        XCTAssertEqual(ChaosInvariants.repairViolations(events, limits: RepairLimits()), [])
        // 20 spread over 4 minutes.
        let spread = (0..<20).map { ev("node2", Double($0) * 12, "bgp_restart", "node\($0 % 10)") }
        XCTAssertEqual(ChaosInvariants.repairViolations(spread, limits: RepairLimits()), [])
    }

    func testMoreRepairsThanTheRateLimitAreNamedOnce() {
        let events = (0..<12).map { ev("node2", Double($0) * 4, "bgp_restart", "node\($0)") }
        let v = ChaosInvariants.repairViolations(events, limits: RepairLimits())
        XCTAssertEqual(v.count, 1, "\(v)")
        XCTAssertTrue(v[0].hasPrefix("node2: 12 repairs within 60 s"), "\(v)")
        // Another node's repairs do not add up with node2's.
        let split = (0..<12).map { ev($0 % 2 == 0 ? "node1" : "node2", Double($0) * 4, "bgp_restart", "node\($0)") }
        XCTAssertEqual(ChaosInvariants.repairViolations(split, limits: RepairLimits()), [])
    }

    func testManualAndDryRunRepairsDoNotCount() {
        let manual = (0..<12).map { ev("node2", Double($0), "tinc_retry", trigger: "manual") }
        let dry = (0..<12).map { ev("node2", Double($0), "tinc_retry", result: "dry_run") }
        XCTAssertEqual(ChaosInvariants.repairViolations(manual + dry, limits: RepairLimits()), [])
    }

    func testTheSameActionMoreOftenThanTheLadderIsALoop() {
        // The backoff's own pace (0, 2, 6, 14, 30, 62 s) is fine.
        let ladder = [0.0, 2, 6, 14, 30, 62, 122].map { ev("node3", $0, "restart_tincd") }
        XCTAssertEqual(ChaosInvariants.repairViolations(ladder, limits: RepairLimits()), [])
        // Six restarts of one session in 50 s are not.
        let loop = (0..<6).map { ev("node3", Double($0) * 10, "bgp_restart", "node1") }
        let v = ChaosInvariants.repairViolations(loop, limits: RepairLimits())
        XCTAssertEqual(v.count, 1, "\(v)")
        XCTAssertTrue(v[0].hasPrefix("node3: repair loop: bgp_restart node1 6 times within 60 s"), "\(v)")
        // Six restarts of six sessions are not a loop.
        let many = (0..<6).map { ev("node3", Double($0) * 10, "bgp_restart", "node\($0)") }
        XCTAssertEqual(ChaosInvariants.repairViolations(many, limits: RepairLimits()), [])
    }

    // MARK: report

    func testTheReportRoundTripsAndItsTableNamesEveryStep() throws {
        var r = ChaosReport(seed: 1, duration: 120, faults: ["isolate"], nodes: nodes, limits: RepairLimits(), started_at: Date())
        let step = try steps(1, 1, [.isolate])[0]
        var s = ChaosStepResult(step: step, fault: "isolate", injected_at: 1.5)
        s.recovered_after = 20
        s.converged_after_heal = 4
        s.repairs = ["node2 tinc_retry ok": 2]
        r.steps = [s]
        let back = try {
            let dec = JSONDecoder()
            dec.dateDecodingStrategy = .iso8601
            return try dec.decode(ChaosReport.self, from: Data(r.json().utf8))
        }()
        XCTAssertEqual(back.steps.first?.step, step)
        XCTAssertEqual(back.steps.first?.repairs, ["node2 tinc_retry ok": 2])
        let table = r.table()
        XCTAssertTrue(table.contains(step.label), table)
        XCTAssertTrue(table.contains("node2 tinc_retry ok×2"), table)
        XCTAssertTrue(table.contains("violations: 0"), table)
    }

    // MARK: status

    /// About 2 s up to 8 nodes; beyond, every deadline grows with the lab, so a 64-node lab on a
    /// small machine is not reported unanswered for want of CPU.
    func testStatusDeadlinesGrowOnlyPastEightNodes() {
        XCTAssertEqual(StatusBudget.forLab(nodes: 3).total, 2.0)
        XCTAssertEqual(StatusBudget.forLab(nodes: 8).birdc, StatusBudget().birdc)
        let big = StatusBudget.forLab(nodes: 64)
        XCTAssertEqual(big.total, 16.0)
        XCTAssertEqual(big.birdc, StatusBudget().birdc * 8)
        XCTAssertEqual(big.tincDump, StatusBudget().tincDump * 8)
        let small = StatusBudget()
        XCTAssertLessThanOrEqual(small.tincLockWait + small.tincQuiet + small.tincDump, small.total,
                                 "one tinc query fits in the whole answer")
        XCTAssertLessThanOrEqual(2 * small.birdc, small.total, "both birdc calls fit in the whole answer")
    }

    func testParallelTasksAllRunAndKeepTheirOrder() {
        let tasks: [@Sendable () -> Int] = (0..<100).map { i in { i * 2 } }
        XCTAssertEqual(runParallel(tasks, deadline: 60, width: 7), (0..<100).map { $0 * 2 })
    }

    // MARK: fault options

    /// The XDP loss program's rules: a share of 2^32 (100 % drops all), 0.0.0.0 for every source,
    /// and a clear error for an address that is not IPv4.
    func testLossRulesBecomeProgramMacros() throws {
        XCTAssertEqual(try LossRule(from: "node1", source: "192.0.2.1", percent: 30).macro(), "RULE(192,0,2,1,1288490189ULL)")
        XCTAssertEqual(try LossRule(from: nil, source: nil, percent: 100).macro(), "RULE(0,0,0,0,4294967296ULL)")
        XCTAssertEqual(LossRule(from: nil, source: nil, percent: 0.5).threshold, 21_474_836)
        XCTAssertThrowsError(try LossRule(from: "x", source: "2001:db8::1", percent: 5).macro()) { e in
            XCTAssertTrue("\(e)".contains("not an IPv4"), "\(e)")
        }
        XCTAssertEqual(ChaosStep(index: 1, fault: .loss, node: "node1", peer: "node2", hold: 5, gap: 3, loss: 30, delay: nil, both: true).label,
                       "loss node1<->node2 30%")
        XCTAssertEqual(ChaosStep(index: 1, fault: .loss, node: "node3", peer: nil, hold: 5, gap: 3, loss: 15).label, "loss node3 15%")
    }

    /// The program compiles with the BPF target of the clang the lab uses, so a broken source shows
    /// here without a lab (and says so when clang lacks the target).
    func testTheLossProgramCompiles() throws {
        let dir = NSTemporaryDirectory() + "bml-xdp-unit-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try XDPLoss.compile(rules: [LossRule(from: "node1", source: "192.0.2.1", percent: 30), LossRule(from: nil, source: nil, percent: 5)],
                            dir: dir, object: "\(dir)/loss.o")
        let obj = try XCTUnwrap(FileManager.default.contents(atPath: "\(dir)/loss.o"))
        XCTAssertEqual(Array(obj.prefix(4)), [0x7f, 0x45, 0x4c, 0x46], "an ELF object")
        XCTAssertEqual(obj[18], 247, "e_machine EM_BPF")
        XCTAssertNotNil(obj.range(of: Data("bgpmesh_loss".utf8)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/loss.o.tmp"))
    }

    func testNetemOptionsBecomeTcArgumentsOrSayWhatIsWrong() throws {
        XCTAssertEqual(try FaultOptions(loss: 30, delay: 20).netemArguments(), ["netem", "loss", "30.0%", "delay", "20.0ms"])
        XCTAssertEqual(try FaultOptions(loss: 5).netemArguments(), ["netem", "loss", "5.0%"])
        XCTAssertThrowsError(try FaultOptions().netemArguments()) { e in
            XCTAssertTrue("\(e)".contains("--loss P or --delay MS"), "\(e)")
        }
        XCTAssertThrowsError(try FaultOptions(loss: 130).netemArguments()) { e in
            XCTAssertTrue("\(e)".contains("between 0 and 100"), "\(e)")
        }
    }

    /// etcd's member ids do not fit a Double: they are read as digits.
    func testEtcdIdsAreReadAsDigits() {
        let status = #"[{"Endpoint":"http://192.0.2.1:12379","Status":{"header":{"cluster_id":7801232528081817440,"member_id":14696859416537996005,"revision":11}}}]"#
        XCTAssertEqual(Lab.jsonUInt(status, key: "member_id"), "14696859416537996005")
        XCTAssertEqual(Lab.jsonUInt(status, key: "revision"), "11")
        XCTAssertNil(Lab.jsonUInt(status, key: "leader"))
    }

    // MARK: restart-bird

    func testTheBirdRestartScriptIsValidShAndNamesThisNodesBird() throws {
        let n = NodeSpec(index: 2, stateDir: "/tmp/lab state")
        let script = LabTemplates.birdRestartScript(node: n)
        let path = NSTemporaryDirectory() + "bml-restart-bird-\(getpid())"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try Command.run(["sh", "-n", path], timeout: 10)
        XCTAssertTrue(r.succeeded, r.stderr)
        XCTAssertTrue(script.contains("sock='/tmp/lab state/node2/bird/bird.ctl'"), script)
        XCTAssertTrue(script.contains("'ip' 'netns' 'exec'") || script.contains("ip netns exec 'bml-n2'"), script)
        XCTAssertTrue(script.contains("'bird' '-f' '-c' '/tmp/lab state/node2/bird/bird.conf'"), script)
        XCTAssertEqual(n.birdRestartScript, "/tmp/lab state/node2/run/restart-bird")
        XCTAssertFalse(AgentCommand.knowsSetting("repair.bird-restart-command", binary: "/nonexistent/bgpmesh-agent"))
    }
}
