import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeshAgent

/// `bgpmesh-agent rotate-key`: asks the local agent to rotate this node's tinc key
/// (POST /api/v1/keys/rotate) and, with `--wait`, follows it to the end.
struct RotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Ask the local agent to rotate this node's tinc key (docs/rotation.md).",
        discussion: """
        Prints the rotation's id. With --wait, follows /api/v1/status until the rotation ends and
        prints its result; exits 1 unless it succeeded. Needs the API token (web.webhook-token-file).
        """)

    @Option(help: ArgumentHelp("The agent's base URL.", valueName: "url"))
    var url = "http://127.0.0.1:10179"

    @Option(name: .customLong("token-file"), help: ArgumentHelp("File holding the API bearer token (web.webhook-token-file).", valueName: "path"))
    var tokenFile: String?

    @Option(name: .customLong("config.file"), help: ArgumentHelp("The agent's YAML config file, to take web.webhook-token-file from.", valueName: "path"))
    var configFile: String?

    @Flag(help: "Wait until the rotation ends; exit 1 unless it succeeded.")
    var wait = false

    @Option(help: ArgumentHelp("Longest wait with --wait, in seconds.", valueName: "seconds"))
    var timeout = 900

    func run() async throws {
        var path = tokenFile
        if path == nil, let configFile {
            do { path = try AgentConfiguration.load(file: configFile).webhookTokenFile } catch { throw fail(error.description) }
        }
        guard let path else { throw fail("give --token-file (or --config.file with web.webhook-token-file): the API needs its bearer token") }
        let token: String
        do { token = try WebhookToken.load(path: path).text } catch { throw fail(error.description) }
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let started: LocalAPIClient.Response
        do {
            started = try LocalAPIClient.send("POST", url: base + "/api/v1/keys/rotate", token: token)
        } catch {
            throw fail(error.description)
        }
        guard started.status == 202 else { throw fail("the agent refused (HTTP \(started.status)): \(started.body.split(separator: "\n").joined(separator: " "))") }
        struct Started: Decodable { var id: String }
        guard let id = try? JSONDecoder().decode(Started.self, from: Data(started.body.utf8)).id else {
            throw fail("unexpected answer: \(started.body)")
        }
        print(id)
        guard wait else { return }
        struct StatusDocument: Decodable {
            var keyRotation: KeyRotation.Status?
            enum CodingKeys: String, CodingKey { case keyRotation = "key_rotation" }
        }
        let deadline = ContinuousClock.now + .seconds(timeout)
        var lastPhase = ""
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            guard let reply = try? LocalAPIClient.send("GET", url: base + "/api/v1/status", token: nil), reply.status == 200,
                  let status = try? JSONDecoder().decode(StatusDocument.self, from: Data(reply.body.utf8)).keyRotation else { continue }
            if status.id == id, status.phase != lastPhase {
                lastPhase = status.phase
                var line = "phase \(status.phase)"
                if let acked = status.peersAcked, let expected = status.peersExpected { line += " (\(acked)/\(expected) peers acked)" }
                print(line)
            }
            if status.id != id, status.lastID == id {
                print("result \(status.lastResult ?? "?")" + (status.lastError.map { ": \($0)" } ?? ""))
                if status.lastResult == "success" { return }
                throw ExitCode(1)
            }
        }
        throw fail("rotation \(id) did not end within \(timeout) s")
    }
}
