import Foundation

/// splitmix64 (Steele, Lea, Flood 2014): a tiny, fast generator whose whole state is one UInt64,
/// so a chaos run is reproduced from its seed alone, on any machine and Swift version (the
/// standard library's generator is neither seedable nor stable).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n (n > 0), from the high half of a 128-bit product.
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        return Int(next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// Uniform integer in the closed range.
    public mutating func int(in r: ClosedRange<Int>) -> Int { r.lowerBound + below(r.upperBound - r.lowerBound + 1) }

    public mutating func coin() -> Bool { next() >> 63 == 1 }
}

/// The faults the chaos runner draws from: each a `bgpmesh-lab fault` with its undo.
public enum ChaosFault: String, CaseIterable, Codable, Sendable {
    case pauseTincd = "pause-tincd"
    case pauseBird = "pause-bird"
    case pauseAgent = "pause-agent"
    case pauseEtcd = "pause-etcd"
    case killTincd = "kill-tincd"
    case killBird = "kill-bird"
    case netem = "netem"
    case isolate = "isolate"
    case fillDisk = "fill-disk"
    case etcdNospace = "etcd-nospace"
    case corruptHostFile = "corrupt-host-file"
    /// Random packet loss on the underlay through XDP (`fault loss`), for kernels without netem.
    case loss = "loss"

    /// Parses `--faults a,b,c` (every name must be known; `all` is every fault).
    public static func parseList(_ text: String) throws(LabError) -> [ChaosFault] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if names == ["all"] { return allCases }
        var out: [ChaosFault] = []
        for n in names {
            guard let f = ChaosFault(rawValue: n) else {
                throw .invalidArgument("unknown chaos fault \(n.debugDescription); known: \(allCases.map(\.rawValue).joined(separator: ","))")
            }
            if !out.contains(f) { out.append(f) }
        }
        guard !out.isEmpty else { throw .invalidArgument("--faults names no fault") }
        return out
    }
}

/// One fault of a chaos run: what, where, how long it is held, and the quiet time after it.
public struct ChaosStep: Codable, Equatable, Sendable {
    public var index: Int
    public var fault: ChaosFault
    public var node: String?
    public var peer: String?
    /// Seconds the fault is held before it is healed.
    public var hold: Int
    /// Seconds of quiet after the mesh recovered, before the next fault.
    public var gap: Int
    /// netem and loss: loss in percent, delay in ms (netem only), and (with a peer) both directions.
    public var loss: Int?
    public var delay: Int?
    public var both: Bool?

    /// `pause-tincd node2`, `netem node1->node2 loss 30% delay 50ms`, `loss node1<->node2 30%`.
    public var label: String {
        var s = fault.rawValue
        if let node { s += " " + node }
        if let peer { s += (fault == .netem || fault == .loss ? (both == true ? "<->" : "->") : " ") + peer }
        if fault == .netem { s += " loss \(loss ?? 0)%" + ((delay ?? 0) > 0 ? " delay \(delay!)ms" : "") }
        if fault == .loss { s += " \(loss ?? 0)%" }
        return s
    }
}

/// The deterministic sequence of a chaos run: the same seed, faults and nodes give the same steps.
public struct ChaosPlan: Sendable {
    public var faults: [ChaosFault]
    public var nodes: [String]
    public var etcdMembers: [String]
    public var holdRange: ClosedRange<Int>
    public var gapRange: ClosedRange<Int>
    private var rng: SplitMix64
    private var count = 0

    public init(seed: UInt64, faults: [ChaosFault], nodes: [String], etcdMembers: [String],
                holdRange: ClosedRange<Int>, gapRange: ClosedRange<Int>) throws(LabError) {
        guard !faults.isEmpty else { throw .invalidArgument("the chaos run has no faults to draw from") }
        guard nodes.count >= 2 else { throw .invalidArgument("the chaos run needs at least 2 nodes, the lab has \(nodes.count)") }
        if faults.contains(.pauseEtcd) && etcdMembers.isEmpty { throw .invalidArgument("pause-etcd needs an etcd member") }
        self.faults = faults
        self.nodes = nodes
        self.etcdMembers = etcdMembers
        self.holdRange = holdRange
        self.gapRange = gapRange
        rng = SplitMix64(seed: seed)
    }

    /// Hold times for a run of `duration` seconds: 5 s up to 15 % of it (at most 45 s), so a short
    /// run still sees several faults.
    public static func holdRange(duration: Double) -> ClosedRange<Int> {
        5...max(5, min(45, Int(duration * 0.15)))
    }

    /// The next step. Every step draws the same number of values, whatever the fault, so one
    /// fault's parameters never shift the next one's.
    public mutating func next() -> ChaosStep {
        count += 1
        let fault = faults[rng.below(faults.count)]
        let nodeDraw = rng.next(), peerDraw = rng.next(), shapeDraw = rng.next()
        let hold = rng.int(in: holdRange), gap = rng.int(in: gapRange)
        let lossDraw = rng.int(in: 2...8), delayDraw = rng.below(4), bothDraw = rng.coin()
        func pick(_ list: [String], _ draw: UInt64) -> String { list[Int(draw.multipliedFullWidth(by: UInt64(list.count)).high)] }
        var step = ChaosStep(index: count, fault: fault, node: nil, peer: nil, hold: hold, gap: gap)
        switch fault {
        case .etcdNospace:
            break
        case .pauseEtcd:
            step.node = pick(etcdMembers, nodeDraw)
        default:
            let node = pick(nodes, nodeDraw)
            step.node = node
            let others = nodes.filter { $0 != node }
            if fault == .corruptHostFile { step.peer = pick(others, peerDraw) }
            if fault == .netem || fault == .loss {
                // Half the time the whole node, else towards one peer (one direction or both).
                if shapeDraw >> 63 == 1 { step.peer = pick(others, peerDraw); step.both = bothDraw }
                step.loss = lossDraw * 5
                if fault == .netem { step.delay = [0, 20, 50, 100][delayDraw] }
            }
        }
        return step
    }
}

/// `10m`, `90s`, `1h`, `120` (seconds).
public enum ChaosDuration {
    public static func parse(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v.isFinite, v >= 0 else { return nil }
            return v * factor
        }
        guard let v = Double(t), v.isFinite, v >= 0 else { return nil }
        return v
    }
}
