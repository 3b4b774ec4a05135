import Logging

/// Every setting of the agent, with its default. Flags and the YAML file both go
/// through `apply(_:_:from:)`, so a key has exactly one spelling and one parser.
public struct AgentConfiguration: Sendable, Equatable {
    public enum LogFormat: String, Sendable, CaseIterable { case logfmt, json }

    public var listenAddresses: [String] = [":10179"]
    public var maxConnections = 1024
    public var readTimeout: Duration = .seconds(10)
    public var idleTimeout: Duration = .seconds(60)
    public var maxRequestBodyBytes = 1 << 20
    /// The bearer token file of POST /api/v1/alerts and /api/v1/repair; nil leaves them answering 503.
    public var webhookTokenFile: String?

    public var logLevel: Logger.Level = .info
    public var logFormat: LogFormat = .logfmt

    /// Upper bound for one collector within a scrape.
    public var collectorTimeout: Duration = .seconds(10)
    /// Collector name -> enabled.
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

    /// The mesh's name: the registry prefix is `/bgpmesh/<mesh.name>/`.
    public var meshName = "bgpmesh"
    /// ConnectTo lines the agent keeps in `conf.d/bgpmesh.conf` (0: none, the operator's own).
    public var meshConnectTo = 3
    /// How long a chosen ConnectTo peer may be dead or unreachable before it is replaced.
    public var meshConnectToGrace: Duration = .seconds(60)
    /// Run the registry loop (needs etcd endpoints): publish, watch, write host files and ConnectTo.
    public var registryEnabled = true
    /// Overrides `/bgpmesh/<mesh.name>/`.
    public var registryPrefix: String?
    /// TTL of the `alive/<name>` lease.
    public var registryAliveTTL: Duration = .seconds(5)
    /// Largest registry record accepted; bigger ones are rejected.
    public var registryMaxRecordBytes = 64 << 10

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
    /// At most this many actions per `repair.window`.
    public var repairMaxActions = 10
    public var repairWindow: Duration = .seconds(60)
    /// Command that restarts tincd, run with /bin/sh -c (none: tincd is not restarted).
    public var repairTincdRestartCommand: String?

    /// The registry prefix in use, with its trailing slash.
    public var effectiveRegistryPrefix: String {
        guard let p = registryPrefix else { return "/bgpmesh/\(meshName)/" }
        return p.hasSuffix("/") ? p : p + "/"
    }

    /// Collectors this build knows, and whether each is on by default.
    public static let defaultCollectors: [String: Bool] = ["process": true, "bird": true, "tinc": true, "probe": true, "etcd": true]

    public init() {}

    /// One row per key: the spelling shared by `--flag` and the YAML path, and its help.
    public struct Key: Sendable {
        public let name: String
        public let help: String
    }

    public static var keys: [Key] {
        var keys = [
            Key(name: "web.listen-address", help: "Addresses to listen on, [host]:port (repeatable)."),
            Key(name: "web.max-connections", help: "Concurrent HTTP connections before new ones get 503."),
            Key(name: "web.read-timeout", help: "Time a client has to send a whole request."),
            Key(name: "web.idle-timeout", help: "Time an idle keep-alive connection is kept."),
            Key(name: "web.max-request-body-bytes", help: "Largest request body accepted (413 above)."),
            Key(name: "web.webhook-token-file", help: "File holding the bearer token of /api/v1/alerts and /api/v1/repair (mode 600)."),
            Key(name: "log.level", help: "trace, debug, info, notice, warning, error or critical."),
            Key(name: "log.format", help: "logfmt or json."),
            Key(name: "collector.timeout", help: "Deadline for each collector in one scrape."),
            Key(name: "collector.bird.socket", help: "BIRD control socket."),
            Key(name: "collector.bird.compat", help: "Also emit bird_exporter's series (names and labels of its new format)."),
            Key(name: "collector.bird.timeout", help: "Deadline of one command on the BIRD socket."),
            Key(name: "collector.bird.sampler-interval", help: "How often the BGP session sampler polls BIRD (flaps, convergence)."),
            Key(name: "collector.bird.convergence-stable-polls", help: "Unchanged route counts in a row that mean a session converged."),
            Key(name: "collector.bird.route-count-interval", help: "How often the table route counts are refreshed in the background."),
            Key(name: "collector.bird.detail-interval", help: "How often the sampler reads BIRD in detail when no protocol changed state."),
            Key(name: "collector.tinc.net", help: "tinc net name."),
            Key(name: "collector.tinc.dir", help: "tinc net directory (default /etc/tinc/<net>)."),
            Key(name: "collector.tinc.pidfile", help: "tincd pidfile (default /var/run/tinc.<net>.pid)."),
            Key(name: "collector.tinc.logfile", help: "tincd log file (default: tincd's own --logfile)."),
            Key(name: "collector.tinc.interface", help: "tinc interface (default: tinc.conf's Interface, else the net name)."),
            Key(name: "collector.tinc.min-dump-interval", help: "Least time between two dump signals to tincd."),
            Key(name: "collector.tinc.signal-lock-file", help: "Lock file shared with other tools that signal tincd."),
            Key(name: "etcd.endpoints", help: "etcd endpoints, http(s)://host:port (repeatable); none turns etcd off."),
            Key(name: "etcd.ca-file", help: "CA certificate for etcd's TLS."),
            Key(name: "etcd.cert-file", help: "Client certificate for etcd."),
            Key(name: "etcd.key-file", help: "Client key for etcd."),
            Key(name: "etcd.username", help: "etcd user (with etcd.password-file)."),
            Key(name: "etcd.password-file", help: "File holding the etcd password."),
            Key(name: "etcd.timeout", help: "Deadline of one etcd request, failover included."),
            Key(name: "mesh.name", help: "Mesh name; the registry lives under /bgpmesh/<mesh.name>/ in etcd."),
            Key(name: "mesh.connect-to", help: "ConnectTo peers the agent keeps in conf.d/bgpmesh.conf (0 turns that off)."),
            Key(name: "mesh.connect-to-grace", help: "Time a chosen peer may be dead or unreachable before it is replaced."),
            Key(name: "registry.enabled", help: "Publish this node and install peers' host keys from etcd (needs etcd.endpoints)."),
            Key(name: "registry.prefix", help: "etcd key prefix of the registry (default /bgpmesh/<mesh.name>/)."),
            Key(name: "registry.alive-ttl", help: "TTL of this node's alive/<name> lease (at least 2s)."),
            Key(name: "registry.max-record-bytes", help: "Largest node record accepted from etcd; bigger ones are rejected."),
            Key(name: "repair.mode", help: "off, dry-run (log and count what it would do) or on."),
            Key(name: "repair.interval", help: "How often mesh health is evaluated and repairs considered."),
            Key(name: "repair.bgp-grace", help: "Time a BGP session may be down, its overlay path up, before it is restarted."),
            Key(name: "repair.peer-grace", help: "Time an alive peer may be unreachable in tinc before tincd retries."),
            Key(name: "repair.cooldown", help: "First backoff of a repeated repair; it doubles per attempt that did not help."),
            Key(name: "repair.cooldown-max", help: "Longest backoff of a repeated repair."),
            Key(name: "repair.max-actions", help: "Most repair actions per repair.window."),
            Key(name: "repair.window", help: "Window of repair.max-actions."),
            Key(name: "repair.tincd-restart-command", help: "Command that restarts a dead tincd (sh -c), e.g. systemctl restart tinc@bgpmesh."),
            Key(name: "collector.probe.interval", help: "How often every peer's overlay address is probed."),
            Key(name: "collector.probe.timeout", help: "How long a probe waits for its answer."),
            Key(name: "collector.probe.window", help: "Sliding window of the loss ratio."),
            Key(name: "collector.probe.target", help: "Extra probe target, name=address (repeatable)."),
        ]
        for name in defaultCollectors.keys.sorted() {
            keys.append(Key(name: "collector.\(name)", help: "Enable the \(name) collector."))
        }
        return keys
    }

    /// Sets one key. Unknown keys and bad values throw with the source and line.
    public mutating func apply(_ key: String, _ value: ConfigValue, from source: ConfigSource) throws(ConfigError) {
        let parse = ValueParser(key: key, value: value, source: source)
        switch key {
        case "web.listen-address":
            let list = try parse.list()
            for address in list { try parse.check(ListenAddressSyntax.validate(address), address) }
            listenAddresses = list
        case "web.max-connections":
            maxConnections = try parse.int(in: 1...1_000_000)
        case "web.read-timeout":
            readTimeout = try parse.duration()
        case "web.idle-timeout":
            idleTimeout = try parse.duration()
        case "web.max-request-body-bytes":
            maxRequestBodyBytes = try parse.int(in: 1...(64 << 20))
        case "web.webhook-token-file":
            webhookTokenFile = try parse.path()
        case "log.level":
            let raw = try parse.scalar()
            guard let level = Logger.Level(rawValue: raw.lowercased()) else {
                throw parse.invalid("expected one of " + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
            }
            logLevel = level
        case "log.format":
            let raw = try parse.scalar()
            guard let format = LogFormat(rawValue: raw.lowercased()) else { throw parse.invalid("expected logfmt or json") }
            logFormat = format
        case "collector.timeout":
            collectorTimeout = try parse.duration()
        case "collector.bird.socket":
            birdSocket = try parse.path()
        case "collector.bird.compat":
            birdCompat = try parse.bool()
        case "collector.bird.timeout":
            birdCommandTimeout = try parse.duration()
        case "collector.bird.sampler-interval":
            birdSamplerInterval = try parse.duration()
        case "collector.bird.convergence-stable-polls":
            birdConvergenceStablePolls = try parse.int(in: 1...1000)
        case "collector.bird.route-count-interval":
            birdRouteCountInterval = try parse.duration()
        case "collector.bird.detail-interval":
            birdDetailInterval = try parse.duration()
        case "collector.tinc.net":
            let net = try parse.scalar()
            guard !net.isEmpty, net.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                throw parse.invalid("a tinc net name is letters, digits, _ and -")
            }
            tincNet = net
        case "collector.tinc.dir": tincDir = try parse.path()
        case "collector.tinc.pidfile": tincPidfile = try parse.path()
        case "collector.tinc.logfile": tincLogfile = try parse.path()
        case "collector.tinc.interface": tincInterface = try parse.scalar()
        case "collector.tinc.min-dump-interval": tincMinDumpInterval = try parse.duration()
        case "collector.tinc.signal-lock-file": tincSignalLockFile = try parse.path()
        case "etcd.endpoints":
            let list = try parse.list().flatMap { $0.split(separator: ",").map(String.init) }
            for endpoint in list where !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
                throw .invalidValue(key: key, value: endpoint, source: source.name, line: source.line,
                                    reason: "expected http://host:port or https://host:port")
            }
            etcdEndpoints = list
        case "etcd.ca-file": etcdCAFile = try parse.path()
        case "etcd.cert-file": etcdCertFile = try parse.path()
        case "etcd.key-file": etcdKeyFile = try parse.path()
        case "etcd.username": etcdUsername = try parse.scalar()
        case "etcd.password-file": etcdPasswordFile = try parse.path()
        case "etcd.timeout": etcdTimeout = try parse.duration()
        case "mesh.name":
            let name = try parse.scalar()
            guard !name.isEmpty, name.utf8.count <= 64,
                  name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }) else {
                throw parse.invalid("a mesh name is letters, digits, _, - and . (at most 64)")
            }
            meshName = name
        case "mesh.connect-to": meshConnectTo = try parse.int(in: 0...64)
        case "mesh.connect-to-grace": meshConnectToGrace = try parse.duration()
        case "registry.enabled": registryEnabled = try parse.bool()
        case "registry.prefix":
            let prefix = try parse.scalar()
            guard prefix.hasPrefix("/"), !prefix.contains("\0"), prefix.utf8.count <= 256 else {
                throw parse.invalid("expected an etcd key prefix starting with /")
            }
            registryPrefix = prefix
        case "registry.alive-ttl":
            let ttl = try parse.duration()
            // etcd 3.4 raises a lease TTL below its minimum (about 2 s) without saying so.
            guard ttl >= .seconds(2), ttl <= .seconds(3600) else { throw parse.invalid("must be between 2s and 1h") }
            registryAliveTTL = ttl
        case "registry.max-record-bytes": registryMaxRecordBytes = try parse.int(in: 4096...(1 << 20))
        case "repair.mode":
            let raw = try parse.scalar()
            guard let mode = RepairMode(rawValue: raw.lowercased()) else { throw parse.invalid("expected off, dry-run or on") }
            repairMode = mode
        case "repair.interval": repairInterval = try parse.duration()
        case "repair.bgp-grace": repairBGPGrace = try parse.duration()
        case "repair.peer-grace": repairPeerGrace = try parse.duration()
        case "repair.cooldown": repairCooldown = try parse.duration()
        case "repair.cooldown-max": repairCooldownMax = try parse.duration()
        case "repair.max-actions": repairMaxActions = try parse.int(in: 1...10_000)
        case "repair.window": repairWindow = try parse.duration()
        case "repair.tincd-restart-command":
            let command = try parse.scalar()
            guard !command.isEmpty, !command.contains("\0") else { throw parse.invalid("expected a command") }
            repairTincdRestartCommand = command
        case "collector.probe.interval": probeInterval = try parse.duration()
        case "collector.probe.timeout": probeTimeout = try parse.duration()
        case "collector.probe.window": probeWindow = try parse.duration()
        case "collector.probe.target":
            var targets: [ProbeTarget] = []
            for item in try parse.list() {
                guard let target = ProbeTarget(parsing: item) else {
                    throw .invalidValue(key: key, value: item, source: source.name, line: source.line,
                                        reason: "expected name=address with a numeric IPv4 or IPv6 address")
                }
                targets.append(target)
            }
            probeTargets = targets
        default:
            // `collector.<name>.enabled` is how YAML says `--collector.<name>` next to the collector's other keys.
            let switchKey = key.hasSuffix(".enabled") ? String(key.dropLast(".enabled".count)) : key
            if switchKey.hasPrefix("collector."), case let name = String(switchKey.dropFirst("collector.".count)),
               Self.defaultCollectors[name] != nil {
                collectors[name] = try parse.bool()
                return
            }
            throw .unknownKey(key: key, source: source.name, line: source.line)
        }
    }

    /// Names of the collectors that are switched on, sorted.
    public var enabledCollectors: [String] {
        collectors.filter(\.value).map(\.key).sorted()
    }
}

/// Turns a raw `ConfigValue` into a typed one, with errors that name the key and source.
struct ValueParser {
    let key: String
    let value: ConfigValue
    let source: ConfigSource

    func invalid(_ reason: String) -> ConfigError {
        .invalidValue(key: key, value: value.display, source: source.name, line: source.line, reason: reason)
    }

    func check(_ problem: String?, _ item: String) throws(ConfigError) {
        if let problem {
            throw .invalidValue(key: key, value: item, source: source.name, line: source.line, reason: problem)
        }
    }

    func scalar() throws(ConfigError) -> String {
        guard case let .scalar(s) = value else { throw invalid("expected a single value, not a list") }
        return s
    }

    func list() throws(ConfigError) -> [String] {
        switch value {
        case let .scalar(s): return [s]
        case let .list(items):
            guard !items.isEmpty else { throw invalid("the list is empty") }
            return items
        }
    }

    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let n = Int(try scalar()) else { throw invalid("expected an integer") }
        guard range.contains(n) else { throw invalid("must be between \(range.lowerBound) and \(range.upperBound)") }
        return n
    }

    func bool() throws(ConfigError) -> Bool {
        switch try scalar().lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw invalid("expected true or false")
        }
    }

    func path() throws(ConfigError) -> String {
        let p = try scalar()
        guard !p.isEmpty, !p.contains("\0") else { throw invalid("expected a file path") }
        return p
    }

    func duration() throws(ConfigError) -> Duration {
        guard let d = DurationSyntax.parse(try scalar()) else {
            throw invalid("expected a duration such as 500ms, 10s, 1m30s")
        }
        guard d > .zero else { throw invalid("must be greater than zero") }
        return d
    }
}
