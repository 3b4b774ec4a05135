import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import MeshAgent
import POSIXSupport

/// `bgpmesh-agent status`: the mesh as the local agent sees it (GET /api/v1/status and /api/v1/mesh).
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the mesh as the local agent sees it: one row per peer (tinc, BGP state and uptime, RTT, loss, last repair).",
        discussion: """
        Asks the agent's /api/v1/status (and /api/v1/mesh for session uptimes). The URL defaults to the \
        first web.listen-address of --config.file (or :10179), on the loopback address when it is a \
        wildcard. Colours only when standard output is a terminal. Exits 1 when the agent cannot be reached.
        """)

    @Option(help: ArgumentHelp("The agent's base URL (default: from web.listen-address).", valueName: "url"))
    var url: String?

    @Option(name: .customLong("config.file"), help: ArgumentHelp("The agent's YAML config file, to take web.listen-address from.", valueName: "path"))
    var configFile: String?

    @Flag(help: "Print /api/v1/status as JSON instead of the table.")
    var json = false

    @Option(help: ArgumentHelp("Give up on the agent after this many seconds.", valueName: "seconds"))
    var timeout = 5

    func run() throws {
        var base = url
        if base == nil {
            var listen = AgentConfiguration().listenAddresses
            if let configFile {
                do { listen = try AgentConfiguration.load(file: configFile).listenAddresses } catch { throw fail(error.description) }
            }
            guard let first = listen.first, let derived = StatusTable.url(listenAddress: first) else {
                throw fail("cannot derive the agent's URL from web.listen-address \(listen.first ?? "(none)"); give --url")
            }
            base = derived
        }
        guard var base, timeout > 0 else { throw fail("--timeout must be at least 1 second") }
        if base.hasSuffix("/") { base.removeLast() }
        let reply: LocalAPIClient.Response
        do {
            reply = try LocalAPIClient.send("GET", url: base + APIRoutes.statusPath, token: nil, timeout: .seconds(timeout))
        } catch {
            throw fail("the agent at \(base) cannot be reached: \(error) (is bgpmesh-agent running? give --url)")
        }
        guard reply.status == 200 else {
            throw fail("\(base)\(APIRoutes.statusPath) answered HTTP \(reply.status): \(reply.body.split(separator: "\n").first ?? "")")
        }
        let status: StatusDigest
        do { status = try StatusDigest.decode(Array(reply.body.utf8)) } catch {
            throw fail("\(base)\(APIRoutes.statusPath) did not answer a status document: \(error)")
        }
        if json {
            print(reply.body.hasSuffix("\n") ? String(reply.body.dropLast()) : reply.body)
            return
        }
        // Uptimes only: the table stands without them.
        let mesh = (try? LocalAPIClient.send("GET", url: base + APIRoutes.meshPath, token: nil, timeout: .seconds(timeout)))
            .flatMap { $0.status == 200 ? try? JSONDecoder().decode(MeshDocument.self, from: Data($0.body.utf8)) : nil }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        print(StatusTable.render(status: status, mesh: mesh, now: Double(now.tv_sec), colour: isatty(1) == 1), terminator: "")
    }
}
