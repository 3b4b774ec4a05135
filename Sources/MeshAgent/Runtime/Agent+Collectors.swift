import BIRDControl
import EtcdClient
import Logging
import TincControl

extension Agent.Parts {
    /// A sampler whose state a collector encodes: its loop, one poll for a collection without
    /// the loops (`scrape-once`), and the signal of its first poll.
    mutating func addSampler(run: @escaping @Sendable () async -> Void, poll: @escaping @Sendable () async -> Void,
                             firstPoll: OnceSignal) {
        loops.append(run)
        primers.append(poll)
        firstPolls.append(firstPoll)
    }
}

extension Agent {
    /// The collectors the configuration enables, the samplers and loops that feed them, and
    /// the repair loop that reads what they keep.
    public static func makeCollectors(for configuration: AgentConfiguration, logger: Logger) -> Parts {
        let c = configuration
        var parts = Parts(collectors: [], loops: [])
        if c.collectors["process"] == true { parts.collectors.append(ProcessCollector()) }
        let birdPeers = BIRDPeerDirectory()
        let bird = c.collectors["bird"] == true ? addBIRD(c, peers: birdPeers, logger: logger, to: &parts) : nil
        let registryOn = c.registryEnabled && !c.etcdEndpoints.isEmpty
        var tincLogger = logger
        tincLogger[metadataKey: "collector"] = "tinc"
        // One client for the collector and the registry: its lock and pacing keep their signals to tincd apart.
        let tincClient = c.collectors["tinc"] == true || registryOn ? tincDaemonClient(c, logger: tincLogger) : nil
        let tinc = c.collectors["tinc"] == true ? tincClient.map { addTinc($0, c, logger: tincLogger, to: &parts) } : nil
        let etcdRequests = EtcdRequestMetrics()
        let etcd = !c.etcdEndpoints.isEmpty && (c.collectors["etcd"] == true || registryOn)
            ? etcdClient(c, requests: etcdRequests, logger: logger) : nil
        if c.collectors["etcd"] == true, let etcd {
            let sampler = EtcdSampler(client: etcd, interval: c.etcdSamplerInterval, logger: logger)
            parts.addSampler(run: { await sampler.run() }, poll: { await sampler.poll() }, firstPoll: sampler.firstPoll)
            parts.collectors.append(EtcdCollector(sampler: sampler, requests: etcdRequests))
        }
        var registry: RegistrySync?
        // The peers-file writer (bird.peers-file); its `state` is for health and status.
        let bgpPeers = registryOn ? addBGPPeers(c, logger: logger, to: &parts) : nil
        if let path = c.birdPeersFile, !registryOn {
            logger.warning("bird.peers-file is set but the registry is off (registry, etcd.endpoints): the agent leaves the file alone",
                           metadata: ["file": "\(path)"])
        }
        if registryOn, let etcd, let tincClient {
            registry = addRegistry(c, etcd: etcd, tinc: tincClient, dumps: tinc, bird: bird, peers: bgpPeers, logger: logger, to: &parts)
            if let registry { birdPeers.attach(registry.metrics) }
            if let registry { parts.rotation = addRotation(c, registry: registry, tinc: tincClient, logger: logger, to: &parts) }
        }
        let probes = c.collectors["probe"] == true ? addProbes(c, registry: registry, bird: bird, tinc: tinc, logger: logger, to: &parts) : nil
        var sources = MeshStateSources(registry: registry, tinc: tinc, tincMaxAge: c.tincMinDumpInterval * 4, probes: probes, bird: bird)
        sources.bgp = .init(role: c.meshRole, topology: c.meshBGPTopology, peers: bgpPeers)
        sources.rotation = parts.rotation
        let repair = makeRepair(c, sources: sources, tinc: tincClient, birdProcess: bird?.process, logger: logger)
        parts.loops.append { await repair.run() }
        parts.collectors.append(RepairCollector(metrics: repair.metrics))
        parts.repair = repair
        return parts
    }

    static func addBIRD(_ c: AgentConfiguration, peers: BIRDPeerDirectory, logger: Logger, to parts: inout Parts) -> BIRDSampler {
        var birdLogger = logger
        birdLogger[metadataKey: "collector"] = "bird"
        let client = BIRDClient(configuration: .init(socketPath: c.birdSocket, restricted: true, timeout: c.birdCommandTimeout),
                                logger: birdLogger)
        let sampler = BIRDSampler(
            client: client, history: BGPSessionHistory(stablePolls: c.birdConvergenceStablePolls),
            settings: .init(interval: c.birdSamplerInterval, detailInterval: c.birdDetailInterval, routeCountInterval: c.birdRouteCountInterval),
            process: BIRDProcessLocator(socketPath: c.birdSocket), logger: logger)
        parts.addSampler(run: { await sampler.run() }, poll: { await sampler.poll(detailed: true) }, firstPoll: sampler.firstPoll)
        parts.collectors.append(BIRDCollector(sampler: sampler, compat: c.birdCompat, peers: peers))
        return sampler
    }

    static func tincDaemonClient(_ c: AgentConfiguration, logger: Logger) -> TincDaemonClient {
        TincDaemonClient(configuration: .init(
            net: c.tincNet, directory: c.tincDir, pidfile: c.tincPidfile,
            logfile: c.tincLogfile, minimumDumpInterval: c.tincMinDumpInterval,
            signalSpacing: TincDumpSampler.signalSpacing(minimumDumpInterval: c.tincMinDumpInterval),
            signalLockPath: c.tincSignalLockFile), logger: logger)
    }

    static func addTinc(_ client: TincDaemonClient, _ c: AgentConfiguration, logger: Logger, to parts: inout Parts) -> TincDumpState {
        // The health model's tincd state follows the process, like tinc_up.
        let dumps = TincDumpState(process: { try? client.verifiedProcess().pid })
        let sampler = TincDumpSampler(client: client, state: dumps, interval: c.tincMinDumpInterval, logger: logger)
        parts.addSampler(run: { await sampler.run() }, poll: { await sampler.poll() }, firstPoll: sampler.firstPoll)
        parts.collectors.append(TincCollector(client: client, dumps: dumps, interface: c.tincInterface))
        return dumps
    }

    static func etcdClient(_ c: AgentConfiguration, requests: EtcdRequestMetrics, logger: Logger) -> EtcdClient? {
        do {
            return try EtcdClient(configuration: try etcdConfiguration(c), logger: logger,
                                  observer: { requests.observe(op: $0, duration: $1, success: $2) })
        } catch {
            logger.error("etcd is configured but unusable; the etcd collector and the registry are off", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The writer of `bird.peers-file` with its own unrestricted BIRD session (`configure` needs
    /// one), each command bounded by collector.bird.timeout; nil without the setting.
    static func addBGPPeers(_ c: AgentConfiguration, logger: Logger, to parts: inout Parts) -> BGPPeersWriter? {
        guard let path = c.birdPeersFile else { return nil }
        var birdLogger = logger
        birdLogger[metadataKey: "component"] = "bird_peers"
        let client = BIRDClient(configuration: .init(socketPath: c.birdSocket, restricted: false, timeout: c.birdCommandTimeout),
                                logger: birdLogger)
        let settings = BGPPeersWriter.Settings(
            path: path, template: c.birdTemplate, clusterID: c.birdRRClusterID, bfd: c.birdBFD, passwordFile: c.birdPasswordFile,
            role: c.meshRole, topology: c.meshBGPTopology, registryPrefix: c.effectiveRegistryPrefix, stateDirectory: c.stateDir)
        if c.meshASN == 0 {
            logger.warning("""
                bird.peers-file without mesh.asn: this node's record takes its AS number from BIRD's first BGP protocol, \
                and until the agent has written peers there may be none, so no node peers with this one; set mesh.asn
                """)
        }
        let writer = BGPPeersWriter(settings: settings, bird: client, logger: logger)
        parts.loops.append { await writer.run() }
        parts.collectors.append(BGPPeersCollector(metrics: writer.metrics))
        return writer
    }

    static func addRegistry(_ c: AgentConfiguration, etcd: EtcdClient, tinc: TincDaemonClient, dumps: TincDumpState?,
                            bird: BIRDSampler?, peers: BGPPeersWriter? = nil, logger: Logger, to parts: inout Parts) -> RegistrySync? {
        var adminKey: TincRSAPublicKey?
        if let path = c.registryAdminPublicKey {
            do {
                adminKey = try Self.loadAdminKey(path)
            } catch {
                logger.error("registry.admin-public-key unusable; the registry is off", metadata: ["error": "\(error)"])
                return nil
            }
        }
        let metrics = RegistryMetrics()
        let settings = RegistrySync.Settings(
            prefix: c.effectiveRegistryPrefix, aliveTTL: c.registryAliveTTL,
            maxRecordBytes: c.registryMaxRecordBytes, tincDirectory: tinc.configuration.directoryPath,
            tincInterface: c.tincInterface, fanout: c.meshConnectTo, grace: c.meshConnectToGrace,
            stateDirectory: c.stateDir, overlayPrefixes: c.meshOverlayPrefixes, maxNodes: c.registryMaxNodes,
            maxSubnets: c.registryMaxSubnets, adminKey: adminKey, enrollmentFile: c.effectiveEnrollmentFile)
        var registrySettings = settings
        registrySettings.keyAckLifetime = c.keysRotationAckTimeout * 4
        let maxAge = c.tincMinDumpInterval * 4
        let identity = BGPIdentityMemory()
        let registry = RegistrySync(
            settings: registrySettings, etcd: etcd, reloader: TincReloader(daemon: tinc),
            // Unknown (no fresh dump) is not unreachable.
            reachable: { dumps?.reachableNodes(maxAge: maxAge) },
            bgp: {
                var bgp = identity.update(from: bird?.snapshot)
                // mesh.asn wins over BIRD's: with generated peers BIRD has no BGP protocol until the first peers are written.
                if c.meshASN > 0 { bgp.asn = UInt32(c.meshASN) }
                if c.meshRole == .reflector { bgp.role = BGPRole.reflector.rawValue }
                return bgp
            }, metrics: metrics, logger: logger, peersWriter: peers)
        parts.loops.append { await registry.run() }
        parts.collectors.append(RegistryCollector(metrics: metrics))
        return registry
    }

    static func addRotation(_ c: AgentConfiguration, registry: RegistrySync, tinc: TincDaemonClient, logger: Logger,
                            to parts: inout Parts) -> KeyRotation {
        let settings = KeyRotation.Settings(
            stateDirectory: c.stateDir, tincDirectory: tinc.configuration.directoryPath, restartCommand: c.repairTincdRestartCommand,
            bits: c.keysBits, ackTimeout: c.keysRotationAckTimeout, rotateInterval: c.keysRotateInterval > .zero ? c.keysRotateInterval : nil)
        let reloader = TincReloader(daemon: tinc)
        // The restart command runs as the repair loop runs it (sh -c, 30 s deadline, its group killed on timeout).
        let runner = RepairExecutor(registry: nil, reloader: nil, bird: nil, restartCommand: c.repairTincdRestartCommand)
        let daemon = KeyRotation.Daemon(
            pid: { try? tinc.daemonInfo().pid },
            retry: { try? await reloader.retry() },
            restart: { command in
                switch try? await runner.runCommand(command) {
                case .success?: nil
                case .failure(let failure)?: failure.description
                case nil: "cancelled"
                }
            })
        let metrics = RotationMetrics(now: { AgentClock.system.date().timeIntervalSince1970 })
        let rotation = KeyRotation(settings: settings, registry: registry, daemon: daemon, metrics: metrics, logger: logger)
        parts.loops.append { await rotation.run() }
        parts.collectors.append(RotationCollector(metrics: metrics))
        // Peers keep their acks for 4 x the ack timeout (docs/rotation.md).
        return rotation
    }

    static func addProbes(_ c: AgentConfiguration, registry: RegistrySync?, bird: BIRDSampler?, tinc: TincDumpState?,
                          logger: Logger, to parts: inout Parts) -> ProbeHistory {
        let rounds = Int((c.probeWindow.seconds / c.probeInterval.seconds).rounded())
        let configured = c.probeTargets
        var probeLogger = logger
        probeLogger[metadataKey: "collector"] = "probe"
        let probes = ProbeHistory(windowRounds: rounds)
        let sampler = ProbeSampler(history: probes, interval: c.probeInterval, timeout: c.probeTimeout, logger: probeLogger) {
            let peers = await registry?.peerOverlays()
            return ProbeTargets.gather(configured: configured, registry: peers, bird: bird?.snapshot, tinc: tinc)
        }
        parts.loops.append { await sampler.run() }
        parts.collectors.append(ProbeCollector(sampler: sampler))
        return probes
    }

    static func makeRepair(_ c: AgentConfiguration, sources: MeshStateSources, tinc: TincDaemonClient?, birdProcess: BIRDProcessLocator?,
                           logger: Logger) -> RepairController {
        var settings = RepairController.Settings()
        settings.mode = c.repairMode
        settings.interval = c.repairInterval
        settings.policy.bgpGrace = c.repairBGPGrace
        settings.policy.peerGrace = c.repairPeerGrace
        settings.policy.cooldown = c.repairCooldown
        settings.policy.cooldownMax = c.repairCooldownMax
        settings.policy.episodeBackoffMax = c.repairEpisodeBackoffMax
        settings.policy.episodeClear = c.repairEpisodeClear
        settings.policy.maxActions = c.repairMaxActions
        settings.policy.window = c.repairWindow
        settings.policy.canRestartTincd = c.repairTincdRestartCommand != nil
        settings.policy.canRestartBIRD = c.repairBIRDRestartCommand != nil
        // The unrestricted BIRD session exists only when repairs can use it.
        var repairBIRD: BIRDClient?
        if c.repairMode != .off, c.collectors["bird"] == true {
            var birdLogger = logger
            birdLogger[metadataKey: "component"] = "repair"
            repairBIRD = BIRDClient(configuration: .init(socketPath: c.birdSocket, restricted: false, timeout: c.birdCommandTimeout),
                                    logger: birdLogger)
        }
        return RepairController(
            settings: settings, sources: sources,
            executor: RepairExecutor(registry: sources.registry, reloader: tinc.map { TincReloader(daemon: $0) }, bird: repairBIRD,
                                     restartCommand: c.repairTincdRestartCommand, tincd: tinc, birdProcess: birdProcess,
                                     birdRestartCommand: c.repairBIRDRestartCommand),
            logger: logger)
    }
}
