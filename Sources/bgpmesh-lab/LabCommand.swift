import ArgumentParser
import Foundation
import Logging
import MeshLab
#if canImport(Glibc)
import Glibc
#endif

struct BgpmeshLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bgpmesh-lab",
        abstract: "Run a real BGP-over-tinc mesh (tincd, BIRD, etcd, agents, Prometheus) in network namespaces.",
        discussion: """
        Everything runs as root in namespaces named bml-*: the underlay bridge (bml-br), one namespace per node (bml-n1 ...) and the monitoring namespace (bml-mon, 192.0.2.250). Node i has underlay 192.0.2.i, overlay 198.51.100.i and 2001:db8::i on tinc0, announces 203.0.113.i/32 and 2001:db8:ff:i::/64, and runs its agent on 192.0.2.i:10179. etcd members are node1-node3 on port 12379. From the host, Prometheus is 127.0.0.1:19090, Alertmanager 127.0.0.1:19093 and node i's agent 127.0.0.1:2010i (20100+i).

        Typical use:
          bgpmesh-lab up --nodes 3
          bgpmesh-lab wait converged --timeout 120
          bgpmesh-lab status
          bgpmesh-lab fault kill-bird node2; bgpmesh-lab fault restart-bird node2
          bgpmesh-lab down
        """,
        subcommands: [Up.self, Status.self, Wait.self, Exec.self, Birdc.self, Fault.self, Chaos.self, Pages.self,
                      AddNode.self, StartNode.self, RemoveNode.self, RotateKey.self, Down.self, Sink.self, Forward.self]
    )
}

/// Options every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Directory for configs, keys, logs, pidfiles and sockets (default: <repo>/.lab).",
                               valueName: "dir"))
    var stateDir: String?

    @Flag(name: .shortAndLong, help: "Log every command the lab runs (to stderr).")
    var verbose = false

    var repoRoot: String { RepoLocator.root() }
    var resolvedStateDir: String {
        let d = stateDir ?? "\(repoRoot)/.lab"
        return d.hasPrefix("/") ? d : FileManager.default.currentDirectoryPath + "/" + d
    }

    func makeLab(quiet: Bool = false) -> Lab {
        var logger = Logger(label: "bgpmesh-lab")
        logger.logLevel = verbose ? .debug : .warning
        return Lab(stateDir: resolvedStateDir, repoRoot: repoRoot, progress: ProgressReporter(quiet: quiet),
                   logger: logger)
    }
}

/// Finds the repository: the first directory above the working directory, then above the
/// executable, whose Package.swift is the bgpmesh-agent package.
enum RepoLocator {
    static func root() -> String {
        if let env = ProcessInfo.processInfo.environment["BGPMESH_REPO"], !env.isEmpty { return env }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        for start in [FileManager.default.currentDirectoryPath, (exe as NSString).deletingLastPathComponent] {
            var dir = start
            while dir != "/" && !dir.isEmpty {
                if let d = FileManager.default.contents(atPath: "\(dir)/Package.swift"),
                   String(decoding: d, as: UTF8.self).contains("\"bgpmesh-agent\"") {
                    return dir
                }
                dir = (dir as NSString).deletingLastPathComponent
            }
        }
        return FileManager.default.currentDirectoryPath
    }

    static var selfExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// Calls `stop` (with "signal N") on SIGINT, SIGTERM or SIGHUP instead of dying, so a run can heal
/// its fault; cancel the sources when done.
func onStopSignals(_ stop: @escaping @Sendable (String) -> Void) -> [DispatchSourceSignal] {
    [SIGINT, SIGTERM, SIGHUP].map { sig in
        signal(sig, SIG_IGN)
        let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        src.setEventHandler { stop("signal \(sig)") }
        src.resume()
        return src
    }
}

/// A run's table on stdout, and its JSON to `path` when given (atomically).
func printReport(table: String, json: String, to path: String?) throws {
    print("")
    print(table, terminator: "")
    guard let path else { return }
    do { try Data(json.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
        FileHandle.standardError.write(Data("bgpmesh-lab: error: cannot write \(path): \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// Prints a LabError as one line and exits non-zero, instead of ArgumentParser's generic handling.
func failing<T>(_ body: () throws(LabError) -> T) throws -> T {
    do { return try body() } catch {
        FileHandle.standardError.write(Data("bgpmesh-lab: error: \(error.description)\n".utf8))
        throw ExitCode(1)
    }
}

extension KeyMode: ExpressibleByArgument {}
extension LabTopology: ExpressibleByArgument {}

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build the lab and start every daemon.",
        discussion: "Order: the kernel's neighbour table limits (raised for labs of this size, put back by `down`), namespaces and bridge, tinc keys, tincd (with --keys manual it then waits until the overlay is a full mesh, so BIRD's first connect succeeds), etcd, BIRD, Prometheus and Alertmanager, agents, loopback forwarder. bird.conf includes <node>/bird/bgpmesh-peers.conf and defines the template `bgpmesh`; the agents write that file from the registry (with --keys manual the lab writes it). Above 16 nodes the lab's timers are slower (docs/scale.md). It does not wait for BGP; follow with `bgpmesh-lab wait converged`.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Number of nodes, 2 to 200.")
    var nodes = 3

    @Option(help: "manual: the lab distributes tinc host keys and ConnectTo lines. agent: each node knows only itself and the agents distribute keys.")
    var keys: KeyMode = .default

    @Option(help: ArgumentHelp("bgpmesh-agent to run on every node (default: <repo>/.build/release/bgpmesh-agent).", valueName: "path"))
    var agentBinary: String?

    @Flag(help: "Run no agents (daemons only).")
    var noAgents = false

    @Option(name: .customLong("agent-arg"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Extra agent argument, repeatable. Placeholders: {node} {index} {underlay} {overlay4} {overlay6} {bird_socket} {tinc_dir} {tinc_pidfile} {tinc_log} {tinc_net} {etcd_endpoints} {webhook_token_file} {state_dir}.", valueName: "arg"))
    var agentArgs: [String] = []

    @Flag(help: "Do not open the 127.0.0.1 ports that forward into the lab.")
    var noForward = false

    @Flag(help: "Start again on the files the last `up` left after `down` (keys, host files, conf.d, etcd data) instead of new ones.")
    var resume = false

    @Option(help: "BGP topology. full: every node peers with every other. reflectors: nodes 1..R are route reflectors, the others peer with them only.")
    var topology: LabTopology = .full

    @Option(help: "Route reflectors with --topology reflectors (nodes 1..R).")
    var reflectors = 2

    func run() throws {
        let lab = common.makeLab()
        var binary: String? = nil
        if !noAgents {
            binary = agentBinary ?? "\(common.repoRoot)/.build/release/bgpmesh-agent"
            if let b = binary, !b.hasPrefix("/") { binary = FileManager.default.currentDirectoryPath + "/" + b }
        }
        let opts = UpOptions(nodes: nodes, keys: keys, agentBinary: binary, agentExtraArgs: agentArgs,
                             selfExecutable: RepoLocator.selfExecutable, forward: !noForward, resume: resume,
                             topology: topology, reflectors: reflectors)
        let state = try failing { () throws(LabError) in try lab.up(opts) }
        lab.progress.step("up: done. Next: bgpmesh-lab wait converged (deadline \(Int(LabTimers.convergenceTimeout(nodes: nodes))) s for \(nodes) nodes)")
        print(lab.accessText(state: state, forwarding: !noForward), terminator: "")
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per node: tinc peers reachable, BGP sessions Established/configured, BGP routes learned, agent up.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print JSON: {\"nodes\":[{name, tinc_reachable_peers, bgp_established, bgp_configured, routes, agent_up}], \"converged\": bool, \"missing\": [...]}.")
    var json = false

    func run() throws {
        let lab = common.makeLab()
        let state = try failing { () throws(LabError) in try LabState.load(stateDir: lab.stateDir) }
        let st = lab.status(state: state)
        if json { print(st.json()) } else {
            print(st.table(), terminator: "")
            for m in st.missing { print("  missing: \(m)") }
        }
    }
}

struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Wait until the lab is converged: full tinc mesh, every BGP session Established, every prefix everywhere.",
        discussion: "Exits 1 on timeout and prints what is still missing.")

    enum Condition: String, ExpressibleByArgument { case converged }

    @OptionGroup var common: CommonOptions

    @Argument(help: "What to wait for (only `converged`).")
    var condition: Condition

    @Option(help: "Give up after this many seconds (default: 60 + 2 per node).")
    var timeout: Double?

    @Flag(help: "Do not print the status table at the end.")
    var quiet = false

    func run() throws {
        let lab = common.makeLab()
        let state = try failing { () throws(LabError) in try LabState.load(stateDir: lab.stateDir) }
        let start = Date()
        let limit = timeout ?? LabTimers.convergenceTimeout(nodes: state.nodes.count)
        let st = try failing { () throws(LabError) in try lab.waitConverged(state: state, timeout: limit) }
        let took = Date().timeIntervalSince(start)
        let sinceUp = Date().timeIntervalSince(state.startedAt)
        print(String(format: "converged after %.1f s of waiting (%.1f s since up started)", took, sinceUp))
        if !quiet { print(st.table(), terminator: "") }
    }
}

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command inside a node's namespace: bgpmesh-lab exec node1 -- ip addr",
        discussion: "Sets LAB_NODE, LAB_BIRD_SOCKET, LAB_TINC_DIR, LAB_TINC_PIDFILE, LAB_TINC_LOG and ETCDCTL_ENDPOINTS. NODE may also be `mon` or `bridge`.")

    @OptionGroup var common: CommonOptions
    @Argument(help: "node1, 1, mon or bridge") var node: String
    @Argument(parsing: .postTerminator, help: "The command, after --.") var command: [String] = []

    func run() throws {
        let lab = common.makeLab()
        guard !command.isEmpty else { throw ValidationError("give a command after --, e.g. exec node1 -- ip addr") }
        var env = ProcessInfo.processInfo.environment
        let ns: String
        switch node {
        case "mon": ns = "bml-mon"
        case "bridge", "br": ns = "bml-br"
        default:
            let state = try failing { () throws(LabError) in try LabState.load(stateDir: lab.stateDir) }
            let n = try failing { () throws(LabError) in try lab.resolve(node, in: state) }
            ns = n.namespace
            env["LAB_NODE"] = n.name
            env["LAB_BIRD_SOCKET"] = n.birdSocket
            env["LAB_TINC_DIR"] = n.tincDir
            env["LAB_TINC_PIDFILE"] = n.tincPidfile
            env["LAB_TINC_LOG"] = n.tincLog
            env["ETCDCTL_API"] = "3"
            env["ETCDCTL_ENDPOINTS"] = LabTemplates.etcdEndpoints(members: state.etcdMembers(stateDir: lab.stateDir))
        }
        execInNamespace(ns, command, env: env)
    }
}

struct Birdc: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run birdc against a node's BIRD: bgpmesh-lab birdc node1 show protocols")

    @OptionGroup var common: CommonOptions
    @Argument(help: "node1 or 1") var node: String
    @Argument(parsing: .captureForPassthrough, help: "birdc command words.") var words: [String] = []

    func run() throws {
        let lab = common.makeLab()
        let state = try failing { () throws(LabError) in try LabState.load(stateDir: lab.stateDir) }
        let n = try failing { () throws(LabError) in try lab.resolve(node, in: state) }
        execInNamespace(n.namespace, ["birdc", "-s", n.birdSocket] + words.filter { $0 != "--" },
                        env: ProcessInfo.processInfo.environment)
    }
}

/// Replaces this process with `ip netns exec NS argv...`.
func execInNamespace(_ ns: String, _ argv: [String], env: [String: String]) -> Never {
    let full = ["/usr/sbin/ip", "netns", "exec", ns] + argv
    let cargs = full.map { strdup($0) } + [nil]
    let cenv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    execve(full[0], cargs, cenv)
    FileHandle.standardError.write(Data("bgpmesh-lab: error: cannot exec ip netns exec: \(String(cString: strerror(errno)))\n".utf8))
    exit(127)
}

struct Fault: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inject one fault, or undo it.",
        discussion: "Faults and their undo commands:\n" + FaultKind.allCases.map { "  " + $0.help }.joined(separator: "\n"))

    struct KindArg: ExpressibleByArgument {
        var kind: FaultKind
        init?(argument: String) {
            guard let k = FaultKind(rawValue: argument) else { return nil }
            kind = k
        }
        static var allValueStrings: [String] { FaultKind.allCases.map(\.rawValue) }
    }

    @OptionGroup var common: CommonOptions
    @Argument(help: "The fault, e.g. kill-bird or heal-link.") var fault: KindArg
    @Argument(help: "The node (node2 or 2).") var node: String?
    @Argument(help: "The peer, for cut-link, heal-link, delete-host-key, restore-host-key, netem, loss, corrupt-host-file and restore-host-file.") var peer: String?
    @Option(help: ArgumentHelp("netem and loss: packet loss in percent.", valueName: "P")) var loss: Double = 0
    @Option(help: ArgumentHelp("netem: added delay in milliseconds (loss cannot delay: that needs the kernel's sch_netem).", valueName: "MS")) var delay: Double = 0
    @Flag(help: "netem or loss with a PEER: both directions, not only NODE->PEER.") var both = false

    func run() throws {
        let lab = common.makeLab()
        let state = try failing { () throws(LabError) in try LabState.load(stateDir: lab.stateDir) }
        let opts = FaultOptions(loss: loss, delay: delay, both: both)
        let msg = try failing { () throws(LabError) in try lab.fault(fault.kind, node: node, peer: peer, state: state, options: opts) }
        print(msg)
    }
}

struct Chaos: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inject random faults from a seeded plan, heal each, and check the mesh's invariants all the time.",
        discussion: """
        Each step injects one fault (\(ChaosFault.allCases.map(\.rawValue).joined(separator: ", "))) on a node the seed picks, holds it, heals it with its undo and waits until the lab is converged again. Every poll (about a second) reads `status` and every agent (/healthz, /api/v1/status, /metrics, from the node's own namespace) and checks: converged within --recover-timeout after each heal; no agent takes more repairs per window than repair.max-actions, and none repeats one action on one target more often than the ladder's backoff allows; no host file, ConnectTo line or private key lost or changed outside the files the fault touches (an isolated node must keep its peers' files); every agent runs and answers /healthz (3 misses in a row are a violation).

        The same seed, faults and nodes give the same steps. The run injects a step only if its hold and --recover-timeout fit in --duration, so it ends by itself within it; on exit, error or SIGINT/SIGTERM it heals the current fault and runs `fault heal-all`. It prints a line per event, then a table (fault, when, time to detect, time to recover, repairs) and per fault kind the median and worst recovery; --json writes the same. Exit status 1 when any invariant was violated.
        """)

    @OptionGroup var common: CommonOptions
    @Option(help: ArgumentHelp("How long to run: 10m, 120s, 1h.", valueName: "duration")) var duration: String = "10m"
    @Option(help: "Seed of the fault sequence.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Comma-separated faults to draw from (default: all).", valueName: "list")) var faults: String = "all"
    @Option(help: ArgumentHelp("Also write the report as JSON to this file.", valueName: "file")) var json: String?
    @Option(help: "Seconds the lab may take to converge after a heal.") var recoverTimeout: Double = 60
    @Option(help: "The agents' repair.max-actions.") var maxActions: Int = 10
    @Option(help: "The agents' repair.window, in seconds.") var window: Double = 60
    @Option(help: "The agents' repair.cooldown, in seconds.") var cooldown: Double = 2
    @Option(help: "The agents' repair.cooldown-max, in seconds.") var cooldownMax: Double = 60

    func run() throws {
        guard let seconds = ChaosDuration.parse(duration), seconds >= 10 else {
            throw ValidationError("--duration: expected a duration of at least 10 s such as 10m, 120s or 1h, got \(duration.debugDescription)")
        }
        let lab = common.makeLab()
        let state = try failing { () throws(LabError) in try LabState.load(stateDir: lab.stateDir) }
        let list = try failing { () throws(LabError) in try ChaosFault.parseList(faults) }
        var opts = ChaosOptions(duration: seconds, seed: seed, faults: list)
        opts.recoverTimeout = recoverTimeout
        opts.limits.maxActions = maxActions
        opts.limits.window = window
        opts.limits.cooldown = cooldown
        opts.limits.cooldownMax = cooldownMax
        let runner = ChaosRunner(lab: lab, state: state, options: opts) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        let sources = onStopSignals { runner.requestStop($0) }
        defer { sources.forEach { $0.cancel() } }
        let report = try failing { () throws(LabError) in try runner.run() }
        try printReport(table: report.table(), json: report.json(), to: json)
        if !report.violations.isEmpty || report.stopped_early != nil { throw ExitCode(1) }
    }
}

struct Pages: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count the pages each fault gives: what reaches the humans' receivers and the agents' webhook.",
        discussion: """
        For each fault, one at a time: inject it, hold it (for the `for` of its root-cause alert plus the longest group_wait plus 20 s, between --min-hold and --hold; after --min-hold the hold ends early once no pending alert could still fire and be notified within it), heal it, wait until the lab is converged and the fault's alerts resolved (at most --settle), then count from the alert sink (docs/lab.md#pages) the firing notifications that reached a human receiver, their alert names, and the notifications Alertmanager sent the agents' webhook. A notification belongs to the fault its alerts started in. The agents repair as usual; a killed or paused tincd or BIRD is held down (the lab's restart scripts fail until the heal), so the fault lasts.

        Faults (NODE: --node, default the last node that is no etcd member):
        \(PagesFault.allCases.map { "  " + $0.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0) + $0.help }.joined(separator: "\n"))

        Prints a table (fault, human notifications, their alert names, webhook deliveries, RepairStorm, root cause named) and writes the same as JSON. Ends by itself; on exit, error or SIGINT/SIGTERM it heals the current fault and runs `fault heal-all`. Exit status 1 when a fault could not be injected or healed, or the run stopped early.
        """)

    @OptionGroup var common: CommonOptions
    @Option(help: ArgumentHelp("Comma-separated faults (default: all).", valueName: "list")) var faults: String = "all"
    @Option(help: ArgumentHelp("Longest hold of a fault: 5m, 150s.", valueName: "duration")) var hold: String = "5m"
    @Option(help: ArgumentHelp("Shortest hold of a fault.", valueName: "duration")) var minHold: String = "90s"
    @Option(help: ArgumentHelp("After the heal, wait at most this long for the fault's alerts to resolve.", valueName: "duration")) var settle: String = "1m"
    @Option(help: ArgumentHelp("Before the first fault, wait at most this long for alerts left from the lab's start to clear.", valueName: "duration")) var quiet: String = "3m"
    @Option(help: ArgumentHelp("Budget of the whole run: a fault starts only if its hold, --settle and a minute fit in what is left (default: none).", valueName: "duration")) var duration: String?
    @Option(help: "The node the faults target (node4 or 4).") var node: String?
    @Option(help: ArgumentHelp("Write the report as JSON to this file.", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Count a report's faults again from the state directory's sink file, without a lab.", valueName: "report.json")) var recount: String?

    func run() throws {
        if let recount {
            let lab = common.makeLab()
            let report = try failing { () throws(LabError) in try PagesRunner.recount(report: recount, sinkFile: lab.monitoring.sinkFile) }
            try printReport(table: report.table(), json: report.json(), to: json)
            return
        }
        func seconds(_ name: String, _ text: String) throws -> Double {
            guard let s = ChaosDuration.parse(text) else {
                throw ValidationError("--\(name): expected a duration such as 3m or 150s, got \(text.debugDescription)")
            }
            return s
        }
        let lab = common.makeLab()
        let state = try failing { () throws(LabError) in try LabState.load(stateDir: lab.stateDir) }
        let list = try failing { () throws(LabError) in try PagesFault.parseList(faults) }
        var opts = PagesOptions(faults: list, hold: try seconds("hold", hold), minHold: try seconds("min-hold", minHold), node: node)
        opts.settle = try seconds("settle", settle)
        opts.quietTimeout = try seconds("quiet", quiet)
        if let duration { opts.duration = try seconds("duration", duration) }
        let runner = PagesRunner(lab: lab, state: state, options: opts) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        let sources = onStopSignals { runner.requestStop($0) }
        defer { sources.forEach { $0.cancel() } }
        let report = try failing { () throws(LabError) in try runner.run() }
        try printReport(table: report.table(), json: report.json(), to: json)
        if report.steps.contains(where: { $0.error != nil }) || report.stopped_early != nil { throw ExitCode(1) }
    }
}

struct AddNode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-node",
        abstract: "Add one node to a running lab (next free number), wire it into tinc, BGP and Prometheus.")
    @OptionGroup var common: CommonOptions
    @Flag(help: "Only the namespace, its addresses and empty directories: set it up with `bgpmesh-agent join`, then `start-node`.")
    var bare = false

    func run() throws {
        let lab = common.makeLab()
        if bare {
            let n = try failing { () throws(LabError) in try lab.addBareNode() }
            let state = try failing { () throws(LabError) in try LabState.load(stateDir: lab.stateDir) }
            let join = AgentCommand.joinArguments(binary: state.agentBinary ?? "bgpmesh-agent", node: n, lab: state)
            lab.progress.step("added bare \(n.name); set it up with:\n  ip netns exec \(n.namespace) \(Command.render(join))\n"
                              + "then: bgpmesh-lab start-node \(n.name)")
            return
        }
        let n = try failing { () throws(LabError) in try lab.addNode(selfExecutable: RepoLocator.selfExecutable) }
        lab.progress.step("added \(n.name) (\(n.underlay)); wait with: bgpmesh-lab wait converged")
    }
}

struct StartNode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start-node",
        abstract: "Start a bare node's tincd, BIRD and agent from the files `bgpmesh-agent join` wrote.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The bare node.") var node: String

    func run() throws {
        let lab = common.makeLab()
        _ = try failing { () throws(LabError) in try lab.startNode(node) }
    }
}

struct RemoveNode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-node",
        abstract: "Remove a node (default: the highest-numbered) from a running lab. etcd members (node1-node3) stay.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The node to remove.") var node: String?

    func run() throws {
        let lab = common.makeLab()
        let name = try failing { () throws(LabError) in
            try lab.removeNode(node, selfExecutable: RepoLocator.selfExecutable)
        }
        lab.progress.step("removed \(name)")
    }
}

struct RotateKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Ask a node's agent to rotate its tinc key (POST /api/v1/keys/rotate with the lab's webhook token).",
        discussion: "Prints the rotation id. With --wait, follows the agent's /api/v1/status (its key_rotation object) with a line per change until the rotation is done (exit 0) or failed (exit 1), or --timeout passes (exit 1).")

    @OptionGroup var common: CommonOptions
    @Argument(help: "The node (node2 or 2).") var node: String
    @Flag(help: "Wait until the rotation is done or failed.") var wait = false
    @Option(help: "With --wait, give up after this many seconds.") var timeout: Double = 180

    func run() throws {
        let lab = common.makeLab()
        let state = try failing { () throws(LabError) in try LabState.load(stateDir: lab.stateDir) }
        let n = try failing { () throws(LabError) in try lab.resolve(node, in: state) }
        let id = try failing { () throws(LabError) in try lab.rotateKey(n, state: state) }
        print("\(n.name): rotation \(id) started")
        guard wait else { return }
        let start = Date()
        let end = try failing { () throws(LabError) in
            try lab.waitRotation(n, id: id, timeout: timeout) { s in
                print(String(format: "[%5.1f s] ", Date().timeIntervalSince(start)) + s.line(node: n.name))
            }
        }
        if end.finished(id: id) != true {
            FileHandle.standardError.write(Data("bgpmesh-lab: error: rotation \(id) on \(n.name) failed: \(end.line(node: n.name))\n".utf8))
            throw ExitCode(1)
        }
        print(String(format: "%@: rotation %@ done in %.1f s", n.name, id, Date().timeIntervalSince(start)))
    }
}

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop every lab process and remove every bml-* namespace and link. Safe to repeat; also cleans up after a crashed up.",
        discussion: "Logs and configs stay in the state directory until the next `up`.")
    @OptionGroup var common: CommonOptions

    func run() throws {
        guard geteuid() == 0 else {
            FileHandle.standardError.write(Data("bgpmesh-lab: error: \(LabError.notRoot.description)\n".utf8))
            throw ExitCode(1)
        }
        let lab = common.makeLab()
        let r = lab.down()
        print("down: stopped \(r.processes) processes, removed \(r.namespaces.count) namespaces and \(r.links.count) links")
        if !r.restored.isEmpty { print("down: neighbour table limits put back: \(r.restored.joined(separator: " "))") }
        if !r.failures.isEmpty {
            for f in r.failures { FileHandle.standardError.write(Data("bgpmesh-lab: error: \(f)\n".utf8)) }
            throw ExitCode(1)
        }
    }
}

/// The alert sink `up` starts in bml-mon (docs/lab.md#pages).
struct Sink: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take Alertmanager webhook POSTs and append each as a JSON line to a file (the lab's human receivers).",
        discussion: "POST /receiver/<name> is a receiver the lab points here (a human one), POST /agent/<node> the copy of a notification to that node's agent; GET /healthz answers 200. Each line: {\"received_at\": <unix seconds>, \"path\": ..., \"payload\": <the webhook body>}. `up` runs it in bml-mon on \(LabNames.monitoringAddress):\(LabNames.sinkPort), writing <state-dir>/mon/sink.jsonl.")
    @Option(help: ArgumentHelp("Address and port to listen on.", valueName: "host:port")) var listen: String
    @Option(help: ArgumentHelp("The file to append to.", valueName: "file")) var output: String

    func run() throws {
        let parts = listen.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]), inet_addr(String(parts[0])) != INADDR_NONE else {
            throw ValidationError("--listen: expected an IPv4 address and a port such as 192.0.2.250:19095, got \(listen.debugDescription)")
        }
        try failing { () throws(LabError) in try AlertSink.run(host: String(parts[0]), port: port, output: output) }
    }
}

/// Internal: the loopback forwarder `up` starts.
struct Forward: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_forward", abstract: "internal", shouldDisplay: false)
    @Option var netns: String
    @Option var stateDir: String?
    @Option var map: [String] = []

    func run() throws {
        let rules = map.compactMap(PortForwarder.Rule.init)
        guard rules.count == map.count else { throw ValidationError("bad --map; expected 127.0.0.1:PORT=HOST:PORT") }
        try failing { () throws(LabError) in try PortForwarder.run(rules: rules, netns: netns) }
    }
}
