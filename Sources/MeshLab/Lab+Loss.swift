import Foundation
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Packet loss on the underlay with generic XDP

/// One rule of an XDP loss program: drop this share of the IPv4 packets from `source`.
struct LossRule: Codable, Equatable, Sendable {
    /// The sending node's name, or nil for every sender.
    var from: String?
    /// Its underlay IPv4 address (nil with `from`).
    var source: String?
    /// Share of the matching packets dropped, in percent (0 < percent <= 100).
    var percent: Double

    /// The drop threshold against a uniform 32-bit random number: percent/100 of 2^32, as an
    /// integer compared in 64 bits, so 100 % (2^32) drops every packet.
    var threshold: UInt64 {
        let t = (percent / 100 * 4_294_967_296).rounded()
        return UInt64(min(max(t, 0), 4_294_967_296))
    }

    /// The rule as the program's `RULE(a, b, c, d, threshold)` macro; 0.0.0.0 matches every source.
    func macro() throws(LabError) -> String {
        let octets: [Int]
        if let source {
            let parts = source.split(separator: ".", omittingEmptySubsequences: false).compactMap { Int($0) }
            guard parts.count == 4, parts.allSatisfy({ (0...255).contains($0) }), parts[0] != 0 else {
                throw .invalidArgument("loss: \(source.debugDescription) is not an IPv4 underlay address")
            }
            octets = parts
        } else {
            octets = [0, 0, 0, 0]
        }
        return "RULE(\(octets.map(String.init).joined(separator: ",")),\(threshold)ULL)"
    }
}

/// Where a loss program sits. XDP sees only what an interface receives: a node's `ul0` receives
/// the packets sent to the node, its bridge port (in the bridge namespace) the ones it sends.
struct LossPoint: Hashable, Sendable {
    var node: Int
    /// The bridge port (packets from the node) rather than the node's `ul0` (packets to it).
    var port: Bool

    func namespace(_ n: NodeSpec) -> String { port ? LabNames.bridgeNamespace : n.namespace }
    func device(_ n: NodeSpec) -> String { port ? n.bridgePort : LabNames.underlayInterface }
    var label: String { port ? "port" : LabNames.underlayInterface }
}

enum XDPLoss {
    /// The program's C source (written for this project; no kernel headers, which a BPF build
    /// cannot include without the architecture's asm/types.h). It passes everything that is not
    /// an IPv4 packet in an Ethernet frame; the first RULE whose source matches decides, by a
    /// uniform random number from the kernel's bpf_get_prandom_u32 (helper 7), whether the packet
    /// is dropped. The rules come in at compile time as -DLOSS_RULES=RULE(...)RULE(...).
    static let source = #"""
        /* bgpmesh-lab: random packet loss on a lab interface, at its ingress (generic XDP). */
        typedef unsigned char u8;
        typedef unsigned int u32;
        typedef unsigned long long u64;

        /* The context the kernel passes an XDP program (its first two fields are all we read). */
        struct xdp_md {
            u32 data;
            u32 data_end;
            u32 data_meta;
            u32 ingress_ifindex;
            u32 rx_queue_index;
            u32 egress_ifindex;
        };

        enum { XDP_DROP = 1, XDP_PASS = 2 };

        /* BPF helper 7: a pseudo-random u32. */
        static u32 (*const random_u32)(void) = (void *)7;

        #ifndef LOSS_RULES
        #error "LOSS_RULES is not defined"
        #endif

        /* RULE(a, b, c, d, t): packets from a.b.c.d (0.0.0.0: from anyone) are dropped when a
           random u32 is below t (t = share * 2^32, so t = 2^32 drops them all). */
        #define RULE(a, b, c, d, t)                                                        \
            if ((a) == 0 || (ip[12] == (a) && ip[13] == (b) && ip[14] == (c) && ip[15] == (d))) \
                return (u64)random_u32() < (u64)(t) ? XDP_DROP : XDP_PASS;

        __attribute__((section("xdp"), used))
        int bgpmesh_loss(struct xdp_md *ctx)
        {
            const u8 *frame = (const u8 *)(long)ctx->data;
            const u8 *end = (const u8 *)(long)ctx->data_end;
            /* Ethernet header (14 bytes) and the fixed IPv4 header (20) must be in the packet. */
            if (frame + 14 + 20 > end)
                return XDP_PASS;
            if (frame[12] != 0x08 || frame[13] != 0x00) /* EtherType IPv4 */
                return XDP_PASS;
            const u8 *ip = frame + 14;
            if ((ip[0] >> 4) != 4)
                return XDP_PASS;
            LOSS_RULES
            return XDP_PASS;
        }

        char bgpmesh_loss_license[] __attribute__((section("license"), used)) = "GPL";
        """#

    /// clang from PATH, else Swift's (whose LLVM has the BPF target).
    static func clang() -> String? {
        Command.which("clang") ?? (FileManager.default.isExecutableFile(atPath: "/opt/swift/usr/bin/clang") ? "/opt/swift/usr/bin/clang" : nil)
    }

    /// Compiles the program with `rules` into `object` (atomically: a temporary file renamed).
    static func compile(rules: [LossRule], dir: String, object: String) throws(LabError) {
        guard let clang = clang() else {
            throw .invalidArgument("fault loss compiles an XDP program and needs clang with the BPF target, which is not in PATH "
                                   + "(Swift's toolchain has one: /opt/swift/usr/bin/clang; see scripts/install-deps.sh)")
        }
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw .io(path: dir, reason: "\(error)")
        }
        let src = "\(dir)/loss.c"
        if FileManager.default.contents(atPath: src) != Data(source.utf8) {
            do { try Data(source.utf8).write(to: URL(fileURLWithPath: src), options: .atomic) } catch { throw .io(path: src, reason: "\(error)") }
        }
        var macros: [String] = []
        for r in rules { macros.append(try r.macro()) }
        let tmp = object + ".tmp"
        let argv = [clang, "-O2", "-g0", "-target", "bpf", "-Wall", "-Werror", "-DLOSS_RULES=" + macros.joined(), "-c", src, "-o", tmp]
        let r = try Command.run(argv, timeout: 60)
        guard r.succeeded else {
            try? FileManager.default.removeItem(atPath: tmp)
            let err = r.stderr + r.stdout
            if err.contains("bpf") && (err.contains("No available targets") || err.contains("unknown target") || err.contains("unable to create target")) {
                throw .invalidArgument("\(clang) has no BPF target (`clang -print-targets` lists no bpf), so fault loss cannot build its XDP program; "
                                       + "use the clang of Swift's toolchain (/opt/swift/usr/bin/clang) or a distribution clang with LLVM's BPF backend")
            }
            throw .commandFailed(command: Command.render(argv), status: r.status, stderr: err)
        }
        if rename(tmp, object) != 0 { throw .io(path: object, reason: "rename: \(String(cString: strerror(errno)))") }
    }
}

extension Lab {
    var lossDir: String { "\(stateDir)/xdp" }
    func lossRecord(_ p: LossPoint, _ n: NodeSpec) -> String { "\(n.faultDir)/xdp-loss-\(p.label).json" }
    func lossObject(_ p: LossPoint, _ n: NodeSpec) -> String { "\(lossDir)/\(n.name)-\(p.label).o" }

    func lossRules(_ p: LossPoint, _ n: NodeSpec) -> [LossRule] {
        guard let d = FileManager.default.contents(atPath: lossRecord(p, n)) else { return [] }
        return (try? JSONDecoder().decode([LossRule].self, from: d)) ?? []
    }

    /// Whether an XDP program is attached to the point's interface.
    func xdpAttached(_ p: LossPoint, _ n: NodeSpec) -> Bool {
        let r = try? Command.run([Netns.ip, "-n", p.namespace(n), "link", "show", "dev", p.device(n)], timeout: 10)
        return r?.stdout.contains("prog/xdp") ?? false
    }

    /// Puts `rules` on the point: compiled into one program and attached in generic mode (replacing
    /// the one there), or, with no rules, the program removed. The record is written after the
    /// program is in place, so it never names rules that are not in force.
    func setLossRules(_ p: LossPoint, _ n: NodeSpec, _ rules: [LossRule]) throws(LabError) {
        let record = lossRecord(p, n)
        let ns = p.namespace(n), dev = p.device(n)
        if rules.isEmpty {
            if xdpAttached(p, n) {
                try Netns.exec(ns, [Netns.ip, "link", "set", "dev", dev, "xdpgeneric", "off"], timeout: 10, check: true)
            }
            try? FileManager.default.removeItem(atPath: record)
            try? FileManager.default.removeItem(atPath: lossObject(p, n))
            return
        }
        // Rules for one sender before the catch-all one: the first match decides.
        let ordered = rules.filter { $0.source != nil } + rules.filter { $0.source == nil }
        let object = lossObject(p, n)
        try XDPLoss.compile(rules: ordered, dir: lossDir, object: object)
        let r = try Netns.exec(ns, [Netns.ip, "-force", "link", "set", "dev", dev, "xdpgeneric", "obj", object, "sec", "xdp"], timeout: 20)
        guard r.succeeded else {
            throw .commandFailed(command: "ip link set dev \(dev) xdpgeneric obj \(object) in \(ns)", status: r.status,
                                 stderr: r.stderr + " (the kernel needs BPF and XDP; iproute2 must be built with libbpf)")
        }
        try mkdir(n.faultDir)
        let data: Data
        do { data = try JSONEncoder().encode(ordered) } catch { throw .io(path: record, reason: "\(error)") }
        do { try data.write(to: URL(fileURLWithPath: record), options: .atomic) } catch { throw .io(path: record, reason: "\(error)") }
    }

    /// `fault loss NODE [PEER] --loss P [--both]`. Without PEER: every IPv4 packet to and from NODE
    /// (programs on its `ul0` and its bridge port). With PEER: NODE->PEER only (a program on PEER's
    /// `ul0` for packets from NODE's underlay address); `both` adds PEER->NODE on NODE's `ul0`.
    func applyLoss(_ n: NodeSpec, peer: NodeSpec?, options: FaultOptions, state: LabState) throws(LabError) -> String {
        if options.delay > 0 {
            throw .invalidArgument("fault loss drops packets (XDP) and cannot delay them: --delay needs tc netem (`fault netem`), "
                                   + (netemSupported() ? "which this kernel has" : "and this kernel has no sch_netem, so no delay can be injected here"))
        }
        guard options.loss > 0, options.loss <= 100 else {
            throw .invalidArgument("fault loss needs --loss P with 0 < P <= 100 (percent of the packets dropped), got \(options.loss)")
        }
        func add(_ p: LossPoint, _ at: NodeSpec, _ rule: LossRule) throws(LabError) {
            var rules = lossRules(p, at).filter { $0.source != rule.source }
            rules.append(rule)
            try setLossRules(p, at, rules)
        }
        let pct = Self.percentText(options.loss)
        guard let peer else {
            let all = LossRule(from: nil, source: nil, percent: options.loss)
            try add(LossPoint(node: n.index, port: false), n, all)
            try add(LossPoint(node: n.index, port: true), n, all)
            return "dropping \(pct) % of the IPv4 packets to and from \(n.name) (XDP on its \(LabNames.underlayInterface) and bridge port \(n.bridgePort)); undo: clear-loss \(n.name)"
        }
        guard peer.index != n.index else { throw .invalidArgument("loss: NODE and PEER are the same node") }
        try add(LossPoint(node: peer.index, port: false), peer, LossRule(from: n.name, source: n.underlay, percent: options.loss))
        if options.both {
            try add(LossPoint(node: n.index, port: false), n, LossRule(from: peer.name, source: peer.underlay, percent: options.loss))
        }
        return "dropping \(pct) % of the IPv4 packets \(n.name)->\(peer.name)" + (options.both ? " and \(peer.name)->\(n.name)" : " (one direction)")
            + " (XDP on the receiver's \(LabNames.underlayInterface)); undo: clear-loss \(n.name)"
    }

    /// Removes every loss rule that concerns one of `nodes`: the programs on their interfaces and
    /// the rules for packets from them on other nodes. Also removes a program the records do not
    /// know (a run killed between attaching and recording).
    func clearLoss(_ nodes: [NodeSpec], state: LabState) throws(LabError) -> String {
        let all = state.specs(stateDir: stateDir)
        let names = Set(nodes.map(\.name))
        var cleared: [String] = []
        for n in all {
            for port in [false, true] {
                let p = LossPoint(node: n.index, port: port)
                let rules = lossRules(p, n)
                let keep = names.contains(n.name) ? [] : rules.filter { !names.contains($0.from ?? "") }
                let stray = names.contains(n.name) && rules.isEmpty && xdpAttached(p, n)
                guard keep != rules || stray else { continue }
                try setLossRules(p, n, keep)
                cleared.append("\(n.name) \(p.label)")
            }
        }
        return cleared.isEmpty ? "no loss to clear" : "removed the XDP loss on \(cleared.joined(separator: ", "))"
    }

    /// Nil when `fault loss` can run here (clang builds the program and the kernel attaches it in
    /// generic mode, tried on the monitoring namespace's lo), else why not.
    public func lossUnavailable() -> String? {
        let dir = "\(lossDir)/probe"
        let object = "\(dir)/probe.o"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do throws(LabError) {
            try XDPLoss.compile(rules: [LossRule(from: nil, source: nil, percent: 0)], dir: dir, object: object)
            let ns = LabNames.monitoringNamespace
            let r = try Netns.exec(ns, [Netns.ip, "-force", "link", "set", "dev", "lo", "xdpgeneric", "obj", object, "sec", "xdp"], timeout: 20)
            _ = try? Netns.exec(ns, [Netns.ip, "link", "set", "dev", "lo", "xdpgeneric", "off"], timeout: 10)
            if !r.succeeded {
                return "the kernel refused a generic XDP program: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last ?? "")"
            }
            return nil
        } catch {
            return error.description
        }
    }

    static func percentText(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%.2f", v)
    }
}
