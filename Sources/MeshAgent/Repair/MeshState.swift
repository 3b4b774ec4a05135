/// What the agent knows about the mesh at one moment, built from the snapshots the
/// collectors and samplers already keep (nothing is queried for it). Immutable and pure
/// data, so the health model and the repair policy can be table-tested.
public struct MeshState: Sendable, Equatable {
    public struct Peer: Sendable, Equatable {
        public var name: String
        /// Holds its `alive/` key in the registry.
        public var alive: Bool
        /// tincd reaches it (nil: no fresh tinc dump).
        public var tincReachable: Bool?
        /// Seconds tincd has not reached it, as the agent saw it (nil while reachable or unknown).
        public var unreachableFor: Double?
        /// A meta connection to it is up (nil: no fresh dump).
        public var metaConnection: Bool?
        /// The last probe of its overlay address (nil: not probed).
        public var probeUp: Bool?
        public var probeLoss: Double?
        public var probeRTT: Double?
        /// hosts/<peer> is missing, differs from the registry's record, or is not the agent's.
        public var hostFile: HostFileState

        public init(name: String, alive: Bool, tincReachable: Bool? = nil, unreachableFor: Double? = nil, metaConnection: Bool? = nil,
                    probeUp: Bool? = nil, probeLoss: Double? = nil, probeRTT: Double? = nil, hostFile: HostFileState = .ok) {
            self.name = name
            self.unreachableFor = unreachableFor
            self.alive = alive
            self.tincReachable = tincReachable
            self.metaConnection = metaConnection
            self.probeUp = probeUp
            self.probeLoss = probeLoss
            self.probeRTT = probeRTT
            self.hostFile = hostFile
        }
    }

    /// `mismatch`: the agent wrote it and it was changed behind its back (drift, repaired).
    /// `conflict`: it exists but the agent did not write it (the operator's, never touched).
    public enum HostFileState: String, Sendable, Equatable { case ok, missing, mismatch, conflict }

    /// A file the agent owns that its last write attempt could not write (a full disk, a
    /// read-only mount); the previous file, if any, is still there whole.
    public struct FileWriteFailure: Sendable, Equatable {
        /// Relative to the tinc directory: `hosts/<peer>` or `conf.d/bgpmesh.conf`.
        public var file: String
        /// The peer a host file is for; "" for conf.d.
        public var peer: String
        public var error: String

        public init(file: String, peer: String, error: String) {
            self.file = file
            self.peer = peer
            self.error = error
        }
    }

    public struct Session: Sendable, Equatable {
        /// BIRD's protocol name.
        public var name: String
        /// The registry peer behind it (by neighbor address, else by name), if known.
        public var peer: String?
        /// The neighbor address from BIRD's detailed snapshot, when it holds this protocol.
        public var neighbor: String?
        public var state: String
        public var established: Bool
        /// Seconds it has not been Established, as the agent saw it (nil while Established).
        public var downFor: Double?
        /// BIRD shows the protocol disabled by an operator: never nudged.
        public var administrativelyDown: Bool

        public init(name: String, peer: String?, neighbor: String? = nil, state: String, established: Bool, downFor: Double? = nil,
                    administrativelyDown: Bool = false) {
            self.name = name
            self.peer = peer
            self.neighbor = neighbor
            self.state = state
            self.established = established
            self.downFor = downFor
            self.administrativelyDown = administrativelyDown
        }
    }

    public var node: String?
    /// Expected peers: every valid registry record but this node's.
    public var peers: [Peer]
    public var sessions: [Session]
    /// nil: the tinc collector is off.
    public var tincdRunning: Bool?
    /// nil: the BIRD collector is off.
    public var birdUp: Bool?
    /// The registry view is current (etcd answers and the watch runs); nil without a registry.
    public var registrySynced: Bool?
    /// This node's role, the topology and the sessions it calls for (MeshState+BGPTopology.swift).
    public var bgpExpectation = BGPExpectation()
    /// conf.d/bgpmesh.conf differs from the agent's plan.
    public var connectToDrift: Bool
    /// tincd runs (this net's, checked live) but its last dump timed out.
    public var tincdHung = false
    /// A key rotation is restarting tincd (phases installing, restarted, rolling_back).
    public var tincdRotating = false
    /// BIRD's process runs but a poll timed out since the last good one.
    public var birdHung = false
    /// BIRD's process serves our socket, checked now (nil: not checked).
    public var birdRunning: Bool?
    /// The registry's files whose last write failed.
    public var fileWriteFailures: [FileWriteFailure] = []

    public init(node: String? = nil, peers: [Peer] = [], sessions: [Session] = [], tincdRunning: Bool? = nil, birdUp: Bool? = nil,
                registrySynced: Bool? = nil, connectToDrift: Bool = false) {
        self.node = node
        self.peers = peers
        self.sessions = sessions
        self.tincdRunning = tincdRunning
        self.birdUp = birdUp
        self.registrySynced = registrySynced
        self.connectToDrift = connectToDrift
    }
}
