extension AgentConfiguration {
    /// Every setting, one row each: the flags, the YAML keys, `--help` and
    /// docs/configuration.md are all made from this table. A default is the initial
    /// value of the property the row sets (AgentConfiguration.swift).
    public static let settings: [Setting] = [
        .list("web.listen-address", \.listenAddresses, valueName: "addr",
              help: "Address to listen on, [host]:port; repeat for more.",
              notes: "`:port` is every IPv4 and IPv6 address. Port 10179 clashes with no exporter (9100-9999), tinc, BGP, etcd, "
                  + "Prometheus or Alertmanager.",
              show: { $0 }, item: { ListenAddressSyntax.validate($0).map { .failure(.init($0)) } ?? .success($0) }),
        .int("web.max-connections", \.maxConnections, in: 1...1_000_000,
             help: "Concurrent HTTP connections; above it new ones get 503 with Retry-After."),
        .duration("web.read-timeout", \.readTimeout, help: "Time a client has to send a whole request (408 after)."),
        .duration("web.idle-timeout", \.idleTimeout, help: "How long an idle keep-alive connection is kept."),
        .int("web.max-request-body-bytes", \.maxRequestBodyBytes, in: 1...(64 << 20), valueName: "bytes",
             help: "Largest request body accepted (413 above)."),
        .path("web.webhook-token-file", \.webhookTokenFile,
              help: "File holding the bearer token of POST /api/v1/alerts and /api/v1/repair.",
              notes: "Surrounding whitespace is ignored; the file must be mode 600 or stricter and not empty, else the agent "
                  + "refuses to start. Without it both endpoints answer 503.",
              unset: "none, both endpoints answer 503"),
        .duration("web.shutdown-grace", \.shutdownGrace, help: "Time in-flight requests get at SIGTERM (0s: none).", allowZero: true),

        .choice("log.level", \.logLevel, help: "Least severity logged."),
        .choice("log.format", \.logFormat, help: "One event per line on stderr, as logfmt or JSON."),

        .duration("collector.timeout", \.collectorTimeout, help: "Deadline of each collector in one scrape."),
        .collector("process", help: "The process collector: the agent's own process_* metrics from /proc."),
        .collector("bird", help: "The BIRD collector: bird_* metrics, BGP session flaps and convergence.",
                   notes: "Reads `show status`, `show protocols all`, `show route count table all`, `show memory` and "
                       + "`show bfd sessions` on BIRD 2's control socket."),
        .path("collector.bird.socket", \.birdSocket, help: "BIRD's control socket."),
        .toggle("collector.bird.compat", \.birdCompat, help: "Also emit bird_exporter 1.4.1's series, for existing dashboards."),
        .duration("collector.bird.timeout", \.birdCommandTimeout, help: "Deadline of one command on the BIRD socket."),
        .duration("collector.bird.sampler-interval", \.birdSamplerInterval,
                  help: "How often the BGP session sampler polls `show protocols` (flaps, convergence)."),
        .int("collector.bird.convergence-stable-polls", \.birdConvergenceStablePolls, in: 1...1000,
             help: "Polls in a row with an unchanged imported route count that mean a session converged."),
        .duration("collector.bird.route-count-interval", \.birdRouteCountInterval,
                  help: "How often the sampler refreshes the table route counts in the background.",
                  notes: "`show route count table all` walks every route, so it stays out of the scrape."),
        .duration("collector.bird.detail-interval", \.birdDetailInterval,
                  help: "How often the sampler reads BIRD in detail when no protocol changed state.",
                  notes: "The detailed read (`show status`, `show protocols all`, `show memory`, `show bfd sessions`) also runs "
                      + "at once when the short poll sees a protocol change state or BIRD come back. A scrape only encodes "
                      + "what the sampler holds."),
        .collector("tinc", help: "The tinc collector: tinc_* metrics (nodes, edges, connections, config, interface).",
                   notes: "Reads tincd 1.0's USR2/USR1 dumps in its log file (paced, in the background), tinc.conf and conf.d, "
                       + "hosts/ and `/sys/class/net/<interface>`."),
        .text("collector.tinc.net", \.tincNet, valueName: "name", help: "tinc net name.") {
            $0.isEmpty || !$0.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
                ? "a tinc net name is letters, digits, _ and -" : nil
        },
        .path("collector.tinc.dir", \.tincDir, help: "tinc net directory (tinc.conf, conf.d, hosts/).", unset: "/etc/tinc/<net>"),
        .path("collector.tinc.pidfile", \.tincPidfile, help: "tincd's pidfile, how tincd is found.", unset: "/var/run/tinc.<net>.pid"),
        .path("collector.tinc.logfile", \.tincLogfile, help: "tincd's log file, where it writes its dumps.",
              unset: "the --logfile on tincd's command line"),
        .text("collector.tinc.interface", \.tincInterface, valueName: "name", help: "The tun/tap interface of tinc.",
              unset: "tinc.conf's Interface, else the net name"),
        .duration("collector.tinc.min-dump-interval", \.tincMinDumpInterval,
                  help: "Least time between two dump signals to tincd (it logs from its signal handlers).",
                  notes: "A dump's two signals are a fifth of it apart (100 ms to 1 s)."),
        .path("collector.tinc.signal-lock-file", \.tincSignalLockFile, help: "Lock file shared with other tools that signal tincd."),
        .collector("probe", help: "The probes: RTT and loss to every peer's overlay address.",
                   notes: "ICMP echo on a raw socket as root, else an unprivileged ICMP socket, else a TCP connect to port 179."),
        .duration("collector.probe.interval", \.probeInterval, help: "How often every peer is probed."),
        .duration("collector.probe.timeout", \.probeTimeout, help: "How long a probe waits for its answer."),
        .duration("collector.probe.window", \.probeWindow, help: "Sliding window of bgpmesh_peer_loss_ratio."),
        .list("collector.probe.target", \.probeTargets, valueName: "name=addr",
              help: "Extra probe target, name=address; repeat for more.",
              notes: "Besides these, the probes target every registry peer's overlay addresses while the registry "
                  + "knows peers, else BGP neighbors; without a registry, also the first host route per address family of each "
                  + "tinc host file (`Subnet = a.b.c.d/32`), never every one a file lists.",
              show: { "\($0.peer)=\($0.address)" },
              item: {
                  ProbeTarget(parsing: $0).map { .success($0) }
                      ?? .failure(.init("expected name=address with a numeric IPv4 or IPv6 address"))
              }),
        .collector("etcd", help: "The etcd collector (with etcd.endpoints): etcd's status and member list."),
        .duration("collector.etcd.interval", \.etcdSamplerInterval,
                  help: "How often the etcd sampler reads etcd's status and member list.",
                  notes: "A scrape encodes the sampler's last read, so etcd's load does not grow with scrapes."),

        .list("etcd.endpoints", \.etcdEndpoints, valueName: "url",
              help: "etcd endpoint, http(s)://host:port, tried in turn; repeat or comma-separate. None turns etcd off.",
              show: { $0 }, splitCommas: true,
              item: {
                  $0.hasPrefix("http://") || $0.hasPrefix("https://")
                      ? .success($0) : .failure(.init("expected http://host:port or https://host:port"))
              }),
        .path("etcd.ca-file", \.etcdCAFile, help: "CA certificate for etcd's TLS."),
        .path("etcd.cert-file", \.etcdCertFile, help: "Client certificate for etcd."),
        .path("etcd.key-file", \.etcdKeyFile, help: "Client key for etcd."),
        .text("etcd.username", \.etcdUsername, valueName: "name", help: "etcd user (needs etcd.password-file)."),
        .path("etcd.password-file", \.etcdPasswordFile, help: "File holding the etcd password (never the password on the command line)."),
        .duration("etcd.timeout", \.etcdTimeout, help: "Deadline of one etcd request, failover included."),
        .toggle("etcd.allow-insecure-credentials", \.etcdAllowInsecureCredentials,
                help: "Send the etcd user and password over http:// endpoints (refused by default).",
                notes: "Over plain HTTP anyone on the path reads the password; use https:// endpoints instead."),

        .path("state.dir", \.stateDir, help: "The agent's state directory: pinned peer keys and the files it wrote.",
              notes: "Created with mode 700; the agent refuses a directory group or others may access. Keep it across "
                  + "restarts and upgrades: without it, every name is trusted on first use again."),

        .text("mesh.name", \.meshName, valueName: "name",
              help: "The mesh's name; the registry lives under /bgpmesh/<mesh.name>/ in etcd.") {
            $0.isEmpty || $0.utf8.count > 64
                || !$0.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") })
                ? "a mesh name is letters, digits, _, - and . (at most 64)" : nil
        },
        .int("mesh.connect-to", \.meshConnectTo, in: 0...64,
             help: "ConnectTo peers the agent keeps in <tinc dir>/conf.d/bgpmesh.conf; 0 leaves ConnectTo to you."),
        .duration("mesh.connect-to-grace", \.meshConnectToGrace,
                  help: "Time a chosen ConnectTo peer may be dead or unreachable before it is replaced."),
        .list("mesh.overlay-prefixes", \.meshOverlayPrefixes, valueName: "prefix",
              help: "Prefix every record's overlay addresses and subnets must lie in; repeat or comma-separate.",
              notes: "Required with the registry. A record with an address or subnet outside them, a default route, more "
                  + "than registry.max-subnets subnets or a subnet overlapping another node's is refused, and no probe "
                  + "goes to it.",
              show: { $0.description }, splitCommas: true,
              item: {
                  guard let prefix = IPPrefix($0, strict: true) else {
                      return .failure(.init("expected an IPv4 or IPv6 prefix such as 198.51.100.0/24, host bits clear"))
                  }
                  return prefix.isDefault ? .failure(.init("a default route cannot be the overlay")) : .success(prefix)
              }),

        .int("mesh.asn", \.meshASN, in: 0...4_294_967_295, valueName: "asn",
             help: "This node's AS number, published in its record (0: the local AS of BIRD's first BGP protocol).",
             notes: "Set it with bird.peers-file: until the agent has written the peers, BIRD may have no BGP protocol to read it from."),
        .choice("mesh.bgp-topology", \.meshBGPTopology,
                help: "full: every node peers with every node; reflectors: clients peer only with the route reflectors.",
                notes: "Every node of a mesh must use the same topology. See docs/bird-peers.md."),
        .choice("mesh.role", \.meshRole, help: "This node's role with mesh.bgp-topology=reflectors; published in its record.",
                notes: "A mesh needs at least one reflector, two for redundancy."),

        .path("bird.peers-file", \.birdPeersFile,
              help: "The include file the agent writes one BGP protocol per registry peer into, then checks and applies with BIRD.",
              notes: "bird.conf must include it and define bird.template. The agent never overwrites a file it did not write.",
              unset: "none, BGP peers stay the operator's"),
        .text("bird.template", \.birdTemplate, valueName: "name", help: "The BIRD template every generated protocol is made from.") {
            BIRDSyntax.isSymbol($0) ? nil : "expected a BIRD symbol: a letter or _, then letters, digits or _ (at most 64)"
        },
        .text("bird.rr-cluster-id", \.birdRRClusterID, valueName: "id",
              help: "The route reflectors' shared cluster ID (an IPv4 address), written on their client sessions.",
              unset: "none, each reflector's router ID") {
            BIRDSyntax.isIPv4($0) ? nil : "expected an IPv4 address such as 192.0.2.1"
        },
        .toggle("bird.bfd", \.birdBFD, help: "Turn BFD on for the generated sessions (needs a protocol bfd in bird.conf)."),
        .path("bird.password-file", \.birdPasswordFile,
              help: "File holding the TCP-MD5 password of the generated sessions (mode 600 or stricter).",
              unset: "none, no password"),

        .toggle("registry", \.registryEnabled,
                help: "Publish this node in etcd and install the peers' host files and ConnectTo lines (needs etcd.endpoints).",
                enabledAlias: true),
        .text("registry.prefix", \.registryPrefix, valueName: "prefix", help: "etcd key prefix of the registry.",
              unset: "/bgpmesh/<mesh.name>/") {
            $0.hasPrefix("/") && !$0.contains("\0") && $0.utf8.count <= 256 ? nil : "expected an etcd key prefix starting with /"
        },
        // etcd 3.4 raises a lease TTL below its minimum (about 2 s) without saying so.
        .duration("registry.alive-ttl", \.registryAliveTTL, help: "TTL of this node's alive/<name> lease.",
                  within: .seconds(2)...Duration.seconds(3600)),
        .int("registry.max-record-bytes", \.registryMaxRecordBytes, in: 4096...(1 << 20), valueName: "bytes",
             help: "Largest node record accepted from etcd; bigger ones are rejected."),
        .int("registry.max-nodes", \.registryMaxNodes, in: 1...65536,
             help: "Most node records the agent holds; new names beyond it are refused (logged and counted).",
             notes: "The known mesh keeps working: a flood of new names cannot push out a node already accepted."),
        .int("registry.max-subnets", \.registryMaxSubnets, in: 0...256, help: "Most tinc subnets one node record may carry."),
        .path("registry.admin-public-key", \.registryAdminPublicKey,
              help: "The mesh admin's RSA public key (PEM); with it a name needs an enrollment statement signed by it.",
              notes: "Without it, trust on first use: the first key seen for a name is pinned. See docs/security.md.",
              unset: "none, trust on first use"),
        .path("registry.enrollment-file", \.registryEnrollmentFile,
              help: "This node's enrollment statement (bgpmesh-agent enroll), published with its record.",
              unset: "<state.dir>/enrollment.json, if present"),

        .choice("repair.mode", \.repairMode, help: "off, dry-run (log and count what it would do) or on."),
        .duration("repair.interval", \.repairInterval, help: "How often mesh health is evaluated and repairs considered."),
        .duration("repair.bgp-grace", \.repairBGPGrace,
                  help: "Time a BGP session may be down, with the overlay path to its neighbor up, before it is restarted."),
        .duration("repair.peer-grace", \.repairPeerGrace,
                  help: "Time an alive peer may be unreachable in tinc before tincd retries (ALRM)."),
        .duration("repair.cooldown", \.repairCooldown,
                  help: "First backoff of a repeated repair; it doubles with every attempt that did not help."),
        .duration("repair.cooldown-max", \.repairCooldownMax,
                  help: "Longest backoff while a fault's repair ladder climbs, and the first one after it has climbed."),
        .duration("repair.episode-backoff-max", \.repairEpisodeBackoffMax,
                  help: "Longest backoff once a fault's episode has climbed its repair ladder (it doubles from repair.cooldown-max up to this)."),
        .duration("repair.episode-clear", \.repairEpisodeClear,
                  help: "A fault's episode ends once its problem has been gone this long; the next sighting starts at the bottom of the ladder."),
        .int("repair.max-actions", \.repairMaxActions, in: 1...10_000, help: "Most repair actions per repair.window."),
        .duration("repair.window", \.repairWindow, help: "Window of repair.max-actions."),
        .text("repair.tincd-restart-command", \.repairTincdRestartCommand, valueName: "command",
              help: "Command that restarts a dead tincd, run with sh -c (e.g. systemctl restart tinc@bgpmesh); a hung tincd is SIGKILLed first.",
              unset: "none, a dead tincd is only reported") {
            $0.isEmpty || $0.contains("\0") ? "expected a command" : nil
        },
        .text("repair.bird-restart-command", \.repairBIRDRestartCommand, valueName: "command",
              help: "Command that starts BIRD again when it died or hung (a hung BIRD is SIGKILLed first), run with sh -c (e.g. systemctl restart bird).",
              unset: "none, a dead or hung BIRD is only reported") {
            $0.isEmpty || $0.contains("\0") ? "expected a command" : nil
        },

        .duration("keys.rotate-interval", \.keysRotateInterval,
                  help: "Rotate this node's tinc key when it is this old (0: only on request, POST /api/v1/keys/rotate).",
                  notes: "Needs repair.tincd-restart-command; see docs/rotation.md.", allowZero: true),
        .int("keys.bits", \.keysBits, in: 0...16384, valueName: "bits",
             help: "Size of a new tinc RSA key (0: the size of the key it replaces; otherwise at least 1024)."),
        .duration("keys.rotation-ack-timeout", \.keysRotationAckTimeout,
                  help: "How long a key rotation waits for every alive peer to acknowledge the new key before it restarts tincd with it.",
                  notes: "Peers keep their acks for 4 times this long.", within: .seconds(1)...(.seconds(3600))),
    ]

    /// Collectors this build knows, and whether each is on by default: the table's collector switches.
    public static let defaultCollectors: [String: Bool] = Dictionary(uniqueKeysWithValues: settings.compactMap(\.collector))

    /// The settings by every name YAML accepts: the key, and `<key>.enabled` where allowed.
    static let settingsByYAMLKey: [String: Setting] = {
        var byKey: [String: Setting] = [:]
        for s in settings {
            precondition(byKey[s.key] == nil, "setting \(s.key) is in the table twice")
            byKey[s.key] = s
            if s.enabledAlias { byKey[s.key + ".enabled"] = s }
        }
        return byKey
    }()
}

extension Setting {
    /// `--[no-]collector.<name>`: one collector on or off (`on` by default). YAML also
    /// takes `collector.<name>.enabled`.
    static func collector(_ name: String, on: Bool = true, help: String, notes: String? = nil) -> Setting {
        Setting(key: "collector.\(name)", kind: .toggle, valueName: "bool", help: help, notes: notes, enabledAlias: true, range: nil,
                collector: (name, on), unsetText: nil,
                store: { (config, p) throws(ConfigError) in config.collectors[name] = try p.bool() },
                show: { $0.collectors[name].map { $0 ? "true" : "false" } })
    }
}
