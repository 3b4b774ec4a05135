import ArgumentParser
import Glibc
import MeshAgent
import POSIXSupport

/// `bgpmesh-agent join`: one command to set a node up for the mesh (docs/operation.md#join).
struct JoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Create what this node needs to join the mesh: tinc files and key, BIRD include and template, agent config.",
        discussion: """
        Creates what is missing and never overwrites what exists (each existing file is reported as kept): \
        the tinc net directory, tinc.conf, the RSA key pair (tincd -K), the host file, tinc-up/tinc-down, the \
        persistent interface, BIRD's template stanza and peers include (and a bird.conf when there is none), \
        the agent's state directory and config file. The agent, started by the service manager, then publishes \
        the node in etcd and writes its peers; --wait waits until its BGP sessions are Established.
        """)

    @Option(help: ArgumentHelp("This node's name (tinc's rule: letters, digits, _).", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("etcd endpoints, comma-separated or repeated.", valueName: "url[,url]"))
    var etcd: [String]

    @Option(help: ArgumentHelp("This node's underlay address, where the other nodes' tincd connect.", valueName: "addr"))
    var underlay: String

    @Option(help: ArgumentHelp("Overlay address with the overlay's length; one IPv4 and/or one IPv6 (repeat).", valueName: "addr/len"))
    var overlay: [String]

    @Option(help: ArgumentHelp("A prefix this node announces in BGP (repeat); goes into the bird.conf join writes.", valueName: "prefix"))
    var announce: [String] = []

    @Option(name: .customLong("mesh-prefix"), help: ArgumentHelp("The agent's mesh.overlay-prefixes (repeat); default: the overlay networks and announced prefixes.", valueName: "prefix"))
    var meshPrefix: [String] = []

    @Option(help: ArgumentHelp("tinc net name.", valueName: "net"))
    var net = "bgpmesh"

    @Option(help: ArgumentHelp("tinc net directory (default /etc/tinc/<net>).", valueName: "path"))
    var tincDir: String?

    @Option(help: ArgumentHelp("tinc's persistent tap interface.", valueName: "name"))
    var interface = "tinc0"

    @Option(help: ArgumentHelp("tinc's port.", valueName: "port"))
    var port = 655

    @Option(help: ArgumentHelp("The BGP AS number of the mesh.", valueName: "asn"))
    var asn = 65000

    @Option(help: ArgumentHelp("BIRD's router ID (default: the IPv4 underlay, else the IPv4 overlay address).", valueName: "ipv4"))
    var routerId: String?

    @Option(help: ArgumentHelp("RSA key size for tincd -K.", valueName: "bits"))
    var keyBits = 2048

    @Option(help: ArgumentHelp("bird.conf: written only when missing; otherwise join says which includes to add.", valueName: "path"))
    var birdConf = "/etc/bird/bird.conf"

    @Option(help: ArgumentHelp("The template stanza's file (default bgpmesh-template.conf next to bird.conf).", valueName: "path"))
    var birdTemplateFile: String?

    @Option(help: ArgumentHelp("The agent's bird.peers-file (default bgpmesh-peers.conf next to bird.conf).", valueName: "path"))
    var birdPeersFile: String?

    @Option(help: ArgumentHelp("The BGP template's name (the agent's bird.template).", valueName: "name"))
    var birdTemplate = "bgpmesh"

    @Option(help: ArgumentHelp("BIRD's control socket.", valueName: "path"))
    var birdSocket = "/run/bird/bird.ctl"

    @Option(help: ArgumentHelp("The agent's config file to write.", valueName: "path"))
    var config = "/etc/bgpmesh/agent.yml"

    @Option(help: ArgumentHelp("The agent's state.dir.", valueName: "path"))
    var stateDir = "/var/lib/bgpmesh"

    @Option(help: ArgumentHelp("The agent's web.listen-address.", valueName: "addr"))
    var listen = ":10179"

    @Option(name: .customLong("set"), help: ArgumentHelp("Another agent setting for the config file (repeat), e.g. log.level=debug.", valueName: "key=value"))
    var settings: [String] = []

    @Flag(inversion: .prefixedNo, help: "Create the persistent tap interface when it is missing (needs ip and root).")
    var createInterface = true

    @Option(help: ArgumentHelp("How long to wait for etcd's answer, in seconds.", valueName: "seconds"))
    var etcdTimeout = 5

    @Flag(help: "Show the plan and touch nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("After writing, run this shell command (e.g. \"systemctl enable --now tinc@bgpmesh bird bgpmesh-agent\"); a failure is an error.", valueName: "command"))
    var start: String?

    @Option(help: ArgumentHelp("How long --start may take, in seconds.", valueName: "seconds"))
    var startTimeout = 60

    @Flag(help: "After writing, wait until the agent (started by the service manager) has every BGP session Established.")
    var wait = false

    @Option(help: ArgumentHelp("How long --wait waits, in seconds.", valueName: "seconds"))
    var waitTimeout = 120

    func run() async throws {
        var request = JoinRequest(name: name, etcdEndpoints: etcd.flatMap { $0.split(separator: ",").map(String.init) },
                                  underlay: underlay, overlays: overlay)
        request.announce = announce
        request.meshPrefixes = meshPrefix
        request.net = net
        request.tincDir = tincDir
        request.interface = interface
        request.port = port
        request.asn = asn
        request.routerID = routerId
        request.keyBits = keyBits
        request.birdConf = birdConf
        request.birdTemplateFile = birdTemplateFile
        request.birdPeersFile = birdPeersFile
        request.birdTemplate = birdTemplate
        request.birdSocket = birdSocket
        request.configFile = config
        request.stateDir = stateDir
        request.listen = listen
        request.settings = settings
        let spec: JoinSpec
        let tools: Join.Tools
        do {
            spec = try request.validated()
            tools = try Join.Tools.find(searchPath: getenv("PATH").map { String(cString: $0) } ?? "/usr/sbin:/usr/bin:/sbin:/bin",
                                        needIP: createInterface)
            try await Join.checkEtcd(spec.etcdEndpoints, timeout: .seconds(max(1, etcdTimeout)))
        } catch { throw fail(error.description) }
        let started = ContinuousClock.now
        let report: JoinReport
        do {
            report = try await Join.run(spec, tools: tools, dryRun: dryRun, createInterface: createInterface)
        } catch { throw fail(error.description) }
        print(dryRun ? "join \(spec.name) (dry run, nothing written):" : "join \(spec.name):")
        print(report.text, terminator: "")
        if dryRun { return }
        print("\(report.created.count) created, \(report.lines.count - report.created.count) kept; "
              + (start == nil ? "start tincd, BIRD and the agent (systemctl enable --now tinc@\(spec.net) bird bgpmesh-agent): " : "")
              + "the agent publishes \(spec.name) in etcd")
        if let start {
            print("starting: \(start)")
            do { try await Join.runTool(["/bin/sh", "-c", start], step: "--start", timeout: .seconds(max(1, startTimeout))) } catch {
                throw fail(error.description)
            }
        }
        guard wait else { return }
        let url = JoinWait.statusURL(listen: spec.listen)
        do {
            try JoinWait.wait(url: url, timeout: .seconds(max(1, waitTimeout))) { line in
                let took = ContinuousClock.now - started
                print("[\(took.components.seconds)s] \(line)")
            }
        } catch { throw fail(error.description) }
        print("joined: every BGP session of \(spec.name) is Established")
    }
}
