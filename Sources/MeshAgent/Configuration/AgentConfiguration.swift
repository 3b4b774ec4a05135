import Logging

/// Every setting of the agent, with its default. The table in
/// AgentConfiguration+Settings.swift names, documents and parses each one; flags and
/// the YAML file both go through it.
public struct AgentConfiguration: Sendable, Equatable {
    public enum LogFormat: String, Sendable, CaseIterable { case logfmt, json }

    public var listenAddresses: [String] = [":10179"]
    public var maxConnections = 1024
    public var readTimeout: Duration = .seconds(10)
    public var idleTimeout: Duration = .seconds(60)
    public var maxRequestBodyBytes = 1 << 20
    /// The bearer token file of POST /api/v1/alerts and /api/v1/repair; nil leaves them answering 503.
    public var webhookTokenFile: String?
    /// Time in-flight requests get at SIGTERM.
    public var shutdownGrace: Duration = .seconds(10)

    public var logLevel: Logger.Level = .info
    public var logFormat: LogFormat = .logfmt

    /// Upper bound for one collector within a scrape.
    public var collectorTimeout: Duration = .seconds(10)
    /// Collector name -> enabled; the defaults are in the settings table (`.collector` rows).
    public var collectors: [String: Bool] = AgentConfiguration.defaultCollectors

    /// BIRD's control socket.
    public var birdSocket = "/run/bird/bird.ctl"
    /// Also emit bird_exporter 1.4.1's series.
    public var birdCompat = false
    /// Deadline of one command on the BIRD socket.
    public var birdCommandTimeout: Duration = .seconds(5)
    /// How often the BGP session sampler polls `show protocols`.
    public var birdSamplerInterval: Duration = .seconds(1)
    /// Polls with an unchanged imported route count after which a session counts as converged.
    public var birdConvergenceStablePolls = 3
    /// How often the sampler refreshes `show route count` (it walks every route).
    public var birdRouteCountInterval: Duration = .seconds(10)
    /// How often the sampler reads BIRD in detail (`show protocols all`, status, memory, BFD)
    /// when no protocol changed state.
    public var birdDetailInterval: Duration = .seconds(5)

    /// tinc's net name.
    public var tincNet = "bgpmesh"
    /// tinc's net directory; nil means `/etc/tinc/<net>`.
    public var tincDir: String?
    /// tincd's pidfile; nil means `/var/run/tinc.<net>.pid`.
    public var tincPidfile: String?
    /// tincd's log file; nil means the `--logfile` on tincd's own command line.
    public var tincLogfile: String?
    /// The tinc interface; nil means tinc.conf's `Interface`, else the net name.
    public var tincInterface: String?
    /// Least time between two dump signals to tincd (its handlers log from signal context).
    public var tincMinDumpInterval: Duration = .seconds(5)
    /// A lock file shared with anything else that signals tincd.
    public var tincSignalLockFile: String?

    /// How often every peer is probed.
    public var probeInterval: Duration = .seconds(1)
    /// How long a probe waits for its answer.
    public var probeTimeout: Duration = .seconds(1)
    /// The sliding window for `bgpmesh_peer_loss_ratio`.
    public var probeWindow: Duration = .seconds(60)
    /// Extra probe targets, `name=address`.
    public var probeTargets: [ProbeTarget] = []

    /// etcd endpoints (`http(s)://host:port`); none means no registry and no etcd collector.
    public var etcdEndpoints: [String] = []
    public var etcdCAFile: String?
    public var etcdCertFile: String?
    public var etcdKeyFile: String?
    public var etcdUsername: String?
    /// A file holding the etcd password (never the password itself on the command line).
    public var etcdPasswordFile: String?
    /// Deadline of one etcd request, failover included.
    public var etcdTimeout: Duration = .seconds(5)
    /// How often the etcd sampler reads status and the member list.
    public var etcdSamplerInterval: Duration = .seconds(5)
    /// Send etcd credentials (user and password) over plain http:// endpoints.
    public var etcdAllowInsecureCredentials = false

    /// The mesh's name: the registry prefix is `/bgpmesh/<mesh.name>/`.
    public var meshName = "bgpmesh"
    /// ConnectTo lines the agent keeps in `conf.d/bgpmesh.conf` (0: none, the operator's own).
    public var meshConnectTo = 3
    /// How long a chosen ConnectTo peer may be dead or unreachable before it is replaced.
    public var meshConnectToGrace: Duration = .seconds(60)
    /// The prefixes every record's overlay addresses and subnets must lie in (required with the registry).
    public var meshOverlayPrefixes: [IPPrefix] = []
    /// `mesh.asn`: this node's AS number in its record (0: the local AS of BIRD's first BGP protocol).
    public var meshASN = 0
    /// `mesh.bgp-topology`.
    public var meshBGPTopology: BGPTopology = .full
    /// `mesh.role`.
    public var meshRole: BGPRole = .client
    /// `bird.peers-file`: the include the agent writes BIRD's peers into (nil: the peers are the operator's).
    public var birdPeersFile: String?
    /// `bird.template`: the BIRD template every generated protocol uses.
    public var birdTemplate = "bgpmesh"
    /// `bird.rr-cluster-id`: the route reflectors' shared cluster ID (nil: BIRD's default, each reflector's router ID).
    public var birdRRClusterID: String?
    /// `bird.bfd`: BFD on the generated sessions.
    public var birdBFD = false
    /// `bird.password-file`: the TCP-MD5 password of the generated sessions.
    public var birdPasswordFile: String?
    /// Run the registry loop (needs etcd endpoints): publish, watch, write host files and ConnectTo.
    public var registryEnabled = true
    /// Overrides `/bgpmesh/<mesh.name>/`.
    public var registryPrefix: String?
    /// TTL of the `alive/<name>` lease.
    public var registryAliveTTL: Duration = .seconds(5)
    /// Largest registry record accepted; bigger ones are rejected.
    public var registryMaxRecordBytes = 64 << 10
    /// Most node records the registry holds; new names beyond it are refused.
    public var registryMaxNodes = 1024
    /// Most subnets one record may carry.
    public var registryMaxSubnets = 16
    /// The mesh admin's RSA public key (PEM file): with it, a name is accepted only with an enrollment statement it signed.
    public var registryAdminPublicKey: String?
    /// This node's enrollment statement (from `bgpmesh-agent enroll`), published with its record.
    public var registryEnrollmentFile: String?

    /// The agent's own state: pinned peer keys, the files it wrote (mode 700).
    public var stateDir = "/var/lib/bgpmesh"

    /// What the repair loop may do: off, dry-run (log and count only) or on.
    public var repairMode: RepairMode = .on
    /// How often the health model is evaluated and the policy consulted.
    public var repairInterval: Duration = .seconds(1)
    /// How long a BGP session may be down, with the overlay path up, before it is restarted.
    public var repairBGPGrace: Duration = .seconds(3)
    /// How long an alive peer may be unreachable in tinc before tincd is told to retry.
    public var repairPeerGrace: Duration = .seconds(3)
    /// First backoff of a repeated action (doubles per attempt that did not help).
    public var repairCooldown: Duration = .seconds(2)
    public var repairCooldownMax: Duration = .seconds(60)
    /// Longest wait between attempts once a fault's episode has climbed its repair ladder.
    public var repairEpisodeBackoffMax: Duration = .seconds(900)
    /// A fault's episode ends once its problem has been gone this long.
    public var repairEpisodeClear: Duration = .seconds(120)
    /// At most this many actions per `repair.window`.
    public var repairMaxActions = 10
    public var repairWindow: Duration = .seconds(60)
    /// Command that restarts tincd, run with /bin/sh -c (none: tincd is not restarted).
    public var repairTincdRestartCommand: String?
    /// `repair.bird-restart-command`: starts BIRD again after it died or hung.
    public var repairBIRDRestartCommand: String?

    /// Scheduled key rotation: rotate when the key is this old (zero: never on its own).
    public var keysRotateInterval: Duration = .zero
    /// Size of a new key in bits (0: the size of the key it replaces).
    public var keysBits = 0
    /// How long a rotation waits for every alive peer's ack before it installs the new key.
    public var keysRotationAckTimeout: Duration = .seconds(60)

    /// The registry prefix in use, with its trailing slash.
    public var effectiveRegistryPrefix: String {
        guard let p = registryPrefix else { return "/bgpmesh/\(meshName)/" }
        return p.hasSuffix("/") ? p : p + "/"
    }

    /// This node's enrollment statement file in use.
    public var effectiveEnrollmentFile: String {
        registryEnrollmentFile ?? stateDir + "/enrollment.json"
    }

    public init() {}

    /// Sets one key, spelled as in YAML (`collector.bird.enabled` too). Unknown keys
    /// and bad values throw with the source and line.
    public mutating func apply(_ key: String, _ value: ConfigValue, from source: ConfigSource) throws(ConfigError) {
        guard let setting = Self.settingsByYAMLKey[key] else {
            throw .unknownKey(key: key, source: source.name, line: source.line)
        }
        try setting.apply(to: &self, key: key, value: value, from: source)
    }

    /// Names of the collectors that are switched on, sorted.
    public var enabledCollectors: [String] {
        collectors.filter(\.value).map(\.key).sorted()
    }
}
