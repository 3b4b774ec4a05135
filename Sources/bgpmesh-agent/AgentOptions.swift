import ArgumentParser
import MeshAgent

/// The flags shared by `run`, `check-config` and `scrape-once`. Each one is
/// optional so that a flag given on the command line wins over the config file,
/// and a flag not given leaves the file's value alone.
struct AgentOptions: ParsableArguments {
    @Option(name: .customLong("config.file"), help: ArgumentHelp("YAML config file; flags win over it.", valueName: "path"))
    var configFile: String?

    @Option(name: .customLong("web.listen-address"),
            help: ArgumentHelp("Address to listen on, [host]:port; repeat for more. (default: :10179)", valueName: "addr"))
    var listenAddresses: [String] = []

    @Option(name: .customLong("web.max-connections"), help: ArgumentHelp("Concurrent connections before 503. (default: 1024)", valueName: "n"))
    var maxConnections: String?

    @Option(name: .customLong("web.read-timeout"), help: ArgumentHelp("Time a client has to send a request. (default: 10s)", valueName: "duration"))
    var readTimeout: String?

    @Option(name: .customLong("web.idle-timeout"), help: ArgumentHelp("Idle keep-alive timeout. (default: 60s)", valueName: "duration"))
    var idleTimeout: String?

    @Option(name: .customLong("web.max-request-body-bytes"), help: ArgumentHelp("Largest request body. (default: 1048576)", valueName: "bytes"))
    var maxBody: String?

    @Option(name: .customLong("web.webhook-token-file"),
            help: ArgumentHelp("File holding the bearer token of /api/v1/alerts and /api/v1/repair, mode 600. (default: none, both answer 503)",
                               valueName: "path"))
    var webhookTokenFile: String?

    @Option(name: .customLong("log.level"),
            help: ArgumentHelp("trace, debug, info, notice, warning, error, critical. (default: info)", valueName: "level"))
    var logLevel: String?

    @Option(name: .customLong("log.format"), help: ArgumentHelp("logfmt or json. (default: logfmt)", valueName: "format"))
    var logFormat: String?

    @Option(name: .customLong("collector.timeout"), help: ArgumentHelp("Deadline per collector per scrape. (default: 10s)", valueName: "duration"))
    var collectorTimeout: String?

    @Flag(name: .customLong("collector.process"), inversion: .prefixedNo,
          help: "Enable the process collector (process_* metrics of the agent). (default: on)")
    var collectorProcess: Bool?

    @Flag(name: .customLong("collector.bird"), inversion: .prefixedNo,
          help: "Enable the BIRD collector (bird_* metrics, BGP flaps and convergence). (default: on)")
    var collectorBird: Bool?

    @Option(name: .customLong("collector.bird.socket"), help: ArgumentHelp("BIRD control socket. (default: /run/bird/bird.ctl)", valueName: "path"))
    var birdSocket: String?

    @Flag(name: .customLong("collector.bird.compat"), inversion: .prefixedNo,
          help: "Also emit bird_exporter's series, for existing dashboards. (default: off)")
    var birdCompat: Bool?

    @Option(name: .customLong("collector.bird.timeout"), help: ArgumentHelp("Deadline per BIRD command. (default: 5s)", valueName: "duration"))
    var birdTimeout: String?

    @Option(name: .customLong("collector.bird.sampler-interval"),
            help: ArgumentHelp("How often BGP sessions are polled for flaps and convergence. (default: 1s)", valueName: "duration"))
    var birdSamplerInterval: String?

    @Option(name: .customLong("collector.bird.convergence-stable-polls"),
            help: ArgumentHelp("Unchanged route counts in a row that mean converged. (default: 3)", valueName: "n"))
    var birdStablePolls: String?

    @Option(name: .customLong("collector.bird.route-count-interval"),
            help: ArgumentHelp("How often table route counts are refreshed in the background. (default: 10s)", valueName: "duration"))
    var birdRouteCountInterval: String?

    @Option(name: .customLong("collector.bird.detail-interval"),
            help: ArgumentHelp("How often BIRD is read in detail when no protocol changed state. (default: 5s)", valueName: "duration"))
    var birdDetailInterval: String?

    @Flag(name: .customLong("collector.tinc"), inversion: .prefixedNo,
          help: "Enable the tinc collector (tinc_* metrics: nodes, edges, connections, config, interface). (default: on)")
    var collectorTinc: Bool?

    @Option(name: .customLong("collector.tinc.net"), help: ArgumentHelp("tinc net name. (default: bgpmesh)", valueName: "name"))
    var tincNet: String?

    @Option(name: .customLong("collector.tinc.dir"), help: ArgumentHelp("tinc net directory. (default: /etc/tinc/<net>)", valueName: "path"))
    var tincDir: String?

    @Option(name: .customLong("collector.tinc.pidfile"),
            help: ArgumentHelp("tincd pidfile. (default: /var/run/tinc.<net>.pid)", valueName: "path"))
    var tincPidfile: String?

    @Option(name: .customLong("collector.tinc.logfile"),
            help: ArgumentHelp("tincd log file. (default: the --logfile on tincd's command line)", valueName: "path"))
    var tincLogfile: String?

    @Option(name: .customLong("collector.tinc.interface"),
            help: ArgumentHelp("tinc interface. (default: Interface in tinc.conf, else the net name)", valueName: "name"))
    var tincInterface: String?

    @Option(name: .customLong("collector.tinc.min-dump-interval"),
            help: ArgumentHelp("Least time between two dump signals to tincd. (default: 5s)", valueName: "duration"))
    var tincMinDumpInterval: String?

    @Option(name: .customLong("collector.tinc.signal-lock-file"),
            help: ArgumentHelp("Lock file shared with other tools that signal tincd. (default: none)", valueName: "path"))
    var tincSignalLock: String?

    @Flag(name: .customLong("collector.probe"), inversion: .prefixedNo,
          help: "Enable the probes: RTT and loss to every peer's overlay address. (default: on)")
    var collectorProbe: Bool?

    @Option(name: .customLong("collector.probe.interval"), help: ArgumentHelp("How often peers are probed. (default: 1s)", valueName: "duration"))
    var probeInterval: String?

    @Option(name: .customLong("collector.probe.timeout"), help: ArgumentHelp("How long a probe waits. (default: 1s)", valueName: "duration"))
    var probeTimeout: String?

    @Option(name: .customLong("collector.probe.window"), help: ArgumentHelp("Loss ratio window. (default: 60s)", valueName: "duration"))
    var probeWindow: String?

    @Option(name: .customLong("collector.probe.target"),
            help: ArgumentHelp("Extra probe target name=address; repeatable. (BGP neighbors and tinc host routes are probed anyway.)",
                               valueName: "name=addr"))
    var probeTargets: [String] = []

    @Option(name: .customLong("etcd.endpoints"),
            help: ArgumentHelp("etcd endpoints, http(s)://host:port; repeat or comma-separate. (default: none, etcd off)", valueName: "urls"))
    var etcdEndpoints: [String] = []

    @Option(name: .customLong("etcd.ca-file"), help: ArgumentHelp("CA certificate for etcd's TLS.", valueName: "path"))
    var etcdCAFile: String?

    @Option(name: .customLong("etcd.cert-file"), help: ArgumentHelp("Client certificate for etcd.", valueName: "path"))
    var etcdCertFile: String?

    @Option(name: .customLong("etcd.key-file"), help: ArgumentHelp("Client key for etcd.", valueName: "path"))
    var etcdKeyFile: String?

    @Option(name: .customLong("etcd.username"), help: ArgumentHelp("etcd user (needs --etcd.password-file).", valueName: "name"))
    var etcdUsername: String?

    @Option(name: .customLong("etcd.password-file"), help: ArgumentHelp("File holding the etcd password.", valueName: "path"))
    var etcdPasswordFile: String?

    @Option(name: .customLong("etcd.timeout"), help: ArgumentHelp("Deadline per etcd request. (default: 5s)", valueName: "duration"))
    var etcdTimeout: String?

    @Flag(name: .customLong("collector.etcd"), inversion: .prefixedNo,
          help: "Enable the etcd collector when --etcd.endpoints is set. (default: on)")
    var collectorEtcd: Bool?

    @Flag(name: .customLong("registry"), inversion: .prefixedNo,
          help: "Publish this node in etcd and install the peers' tinc host keys and ConnectTo lines (needs --etcd.endpoints). (default: on)")
    var registry: Bool?

    @Option(name: .customLong("registry.prefix"),
            help: ArgumentHelp("etcd key prefix of the registry. (default: /bgpmesh/<mesh.name>/)", valueName: "prefix"))
    var registryPrefix: String?

    @Option(name: .customLong("registry.alive-ttl"), help: ArgumentHelp("TTL of this node's alive/<name> lease. (default: 5s)", valueName: "duration"))
    var registryAliveTTL: String?

    @Option(name: .customLong("registry.max-record-bytes"),
            help: ArgumentHelp("Largest node record accepted from etcd. (default: 65536)", valueName: "bytes"))
    var registryMaxRecordBytes: String?

    @Option(name: .customLong("mesh.name"), help: ArgumentHelp("Mesh name, part of the registry prefix. (default: bgpmesh)", valueName: "name"))
    var meshName: String?

    @Option(name: .customLong("mesh.connect-to"),
            help: ArgumentHelp("ConnectTo peers kept in <tinc dir>/conf.d/bgpmesh.conf; 0 leaves ConnectTo to you. (default: 3)", valueName: "n"))
    var meshConnectTo: String?

    @Option(name: .customLong("mesh.connect-to-grace"),
            help: ArgumentHelp("Time a chosen peer may be dead or unreachable before it is replaced. (default: 60s)", valueName: "duration"))
    var meshConnectToGrace: String?

    @Option(name: .customLong("repair.mode"), help: ArgumentHelp("off, dry-run or on. (default: on)", valueName: "mode"))
    var repairMode: String?

    @Option(name: .customLong("repair.interval"), help: ArgumentHelp("How often health is evaluated. (default: 1s)", valueName: "duration"))
    var repairInterval: String?

    @Option(name: .customLong("repair.bgp-grace"),
            help: ArgumentHelp("Time a BGP session may be down, overlay path up, before it is restarted. (default: 3s)", valueName: "duration"))
    var repairBGPGrace: String?

    @Option(name: .customLong("repair.peer-grace"),
            help: ArgumentHelp("Time an alive peer may be unreachable in tinc before tincd retries. (default: 3s)", valueName: "duration"))
    var repairPeerGrace: String?

    @Option(name: .customLong("repair.cooldown"), help: ArgumentHelp("First backoff of a repeated repair. (default: 2s)", valueName: "duration"))
    var repairCooldown: String?

    @Option(name: .customLong("repair.cooldown-max"), help: ArgumentHelp("Longest backoff of a repeated repair. (default: 60s)", valueName: "duration"))
    var repairCooldownMax: String?

    @Option(name: .customLong("repair.max-actions"), help: ArgumentHelp("Most repairs per window. (default: 10)", valueName: "n"))
    var repairMaxActions: String?

    @Option(name: .customLong("repair.window"), help: ArgumentHelp("Window of --repair.max-actions. (default: 60s)", valueName: "duration"))
    var repairWindow: String?

    @Option(name: .customLong("repair.tincd-restart-command"),
            help: ArgumentHelp("Command that restarts a dead tincd, run with sh -c. (default: none)", valueName: "command"))
    var repairRestartCommand: String?

    /// The flags the user actually gave, as config keys.
    var overrides: [(String, ConfigValue)] {
        var out: [(String, ConfigValue)] = []
        if !listenAddresses.isEmpty { out.append(("web.listen-address", .list(listenAddresses))) }
        if !probeTargets.isEmpty { out.append(("collector.probe.target", .list(probeTargets))) }
        if !etcdEndpoints.isEmpty { out.append(("etcd.endpoints", .list(etcdEndpoints))) }
        let scalars: [(String, String?)] = [
            ("web.max-connections", maxConnections), ("web.read-timeout", readTimeout),
            ("web.idle-timeout", idleTimeout), ("web.max-request-body-bytes", maxBody),
            ("web.webhook-token-file", webhookTokenFile),
            ("log.level", logLevel), ("log.format", logFormat), ("collector.timeout", collectorTimeout),
            ("collector.process", collectorProcess.map { $0 ? "true" : "false" }),
            ("collector.bird", collectorBird.map { $0 ? "true" : "false" }),
            ("collector.bird.socket", birdSocket), ("collector.bird.compat", birdCompat.map { $0 ? "true" : "false" }),
            ("collector.bird.timeout", birdTimeout), ("collector.bird.sampler-interval", birdSamplerInterval),
            ("collector.bird.convergence-stable-polls", birdStablePolls),
            ("collector.bird.route-count-interval", birdRouteCountInterval),
            ("collector.bird.detail-interval", birdDetailInterval),
            ("collector.tinc", collectorTinc.map { $0 ? "true" : "false" }),
            ("collector.tinc.net", tincNet), ("collector.tinc.dir", tincDir), ("collector.tinc.pidfile", tincPidfile),
            ("collector.tinc.logfile", tincLogfile), ("collector.tinc.interface", tincInterface),
            ("collector.tinc.min-dump-interval", tincMinDumpInterval), ("collector.tinc.signal-lock-file", tincSignalLock),
            ("collector.probe", collectorProbe.map { $0 ? "true" : "false" }), ("collector.probe.interval", probeInterval),
            ("collector.probe.timeout", probeTimeout), ("collector.probe.window", probeWindow),
            ("etcd.ca-file", etcdCAFile), ("etcd.cert-file", etcdCertFile), ("etcd.key-file", etcdKeyFile),
            ("etcd.username", etcdUsername), ("etcd.password-file", etcdPasswordFile), ("etcd.timeout", etcdTimeout),
            ("collector.etcd", collectorEtcd.map { $0 ? "true" : "false" }),
            ("registry.enabled", registry.map { $0 ? "true" : "false" }), ("registry.prefix", registryPrefix),
            ("registry.alive-ttl", registryAliveTTL), ("registry.max-record-bytes", registryMaxRecordBytes),
            ("mesh.name", meshName), ("mesh.connect-to", meshConnectTo), ("mesh.connect-to-grace", meshConnectToGrace),
            ("repair.mode", repairMode), ("repair.interval", repairInterval), ("repair.bgp-grace", repairBGPGrace),
            ("repair.peer-grace", repairPeerGrace), ("repair.cooldown", repairCooldown), ("repair.cooldown-max", repairCooldownMax),
            ("repair.max-actions", repairMaxActions), ("repair.window", repairWindow),
            ("repair.tincd-restart-command", repairRestartCommand),
        ]
        for case let (key, value?) in scalars { out.append((key, .scalar(value))) }
        return out
    }

    /// Defaults, then the file, then the flags.
    func resolve() throws(ConfigError) -> AgentConfiguration {
        var config = AgentConfiguration()
        if let configFile { config = try AgentConfiguration.load(file: configFile) }
        for (key, value) in overrides { try config.apply(key, value, from: .flag(key)) }
        return config
    }
}
