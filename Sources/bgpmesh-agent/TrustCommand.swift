import ArgumentParser
import Glibc
import MeshAgent
import POSIXSupport

/// `bgpmesh-agent trust list|forget|pin`: the operator's view of, and say over, the pins.
struct Trust: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, forget or set the keys pinned to node names (trust-pins.json in state.dir).",
        discussion: """
        The agent pins each node name to the first key it accepts for it (trust on first use), or, with \
        registry.admin-public-key, to the key an admin's enrollment statement names. A record for a pinned \
        name with another key is refused (reason key_not_pinned). These commands are how an operator changes \
        a pin by hand, e.g. when a node is re-keyed or replaced; see docs/operation.md and docs/security.md.

        They edit the pin file of the state directory that --config.file / --state.dir name, under the same \
        lock the agent takes, so they are safe while the agent runs; a running agent re-reads the file when \
        it changes. Run them as the agent's user: the file is mode 0600 and must stay the agent's.
        """,
        subcommands: [TrustList.self, TrustForget.self, TrustPin.self])
}

struct TrustList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Print the pins: node, fingerprint, source, when pinned.",
        discussion: """
        Sources: first_use (the first key seen, no admin key), enrollment (the first key seen with a valid \
        enrollment statement), operator (trust pin), rotation (a key rotation statement). Exits 1 if the pin \
        file cannot be read or is damaged.
        """)

    @OptionGroup var state: StateOptions

    @Flag(help: "One line of JSON: {\"file\":PATH,\"pins\":[{\"name\",\"fingerprint_sha256\",\"source\",\"pinned_at\",\"pinned_at_rfc3339\"}]}.")
    var json = false

    func run() throws {
        let config: AgentConfiguration
        do { config = try state.resolve() } catch { throw fail(error.description) }
        let store: PinStore
        do { store = try TrustCommands.load(directory: config.stateDir) } catch { throw fail(error.description) }
        var output = json ? TrustCommands.json(store) : []
        if !json {
            let footer = store.pins.isEmpty ? "no pins in \(store.path)\n" : "\(store.pins.count) pin(s) in \(store.path)\n"
            output = Array(((store.pins.isEmpty ? "" : TrustCommands.table(store)) + footer).utf8)
        }
        do { try Syscall.writeAll(1, output) } catch { throw fail("cannot write to standard output: \(error)") }
    }
}

struct TrustForget: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Remove the pin of NODE, so its next key is accepted.",
        discussion: """
        After this, the next key seen for NODE is trusted on first use and pinned again, or, with \
        registry.admin-public-key, needs an enrollment statement by the admin key. Do it on every node (or \
        use trust pin with the new fingerprint) when a node gets a new key. Exits 1, changing nothing, if \
        NODE has no pin.
        """)

    @OptionGroup var state: StateOptions

    @Argument(help: ArgumentHelp("The node name.", valueName: "node"))
    var node: String

    func run() throws {
        let config: AgentConfiguration
        do { config = try state.resolve() } catch { throw fail(error.description) }
        let removed: Pin
        do { removed = try TrustCommands.forget(node, directory: config.stateDir) } catch { throw fail(error.description) }
        let next = config.registryAdminPublicKey == nil
            ? "the next key seen for \(node) will be trusted on first use"
            : "the next key for \(node) needs an enrollment statement signed by the admin key"
        print("forgot the pin of \(node) (SHA256:\(removed.fingerprintSHA256), \(removed.source.rawValue), "
              + "pinned \(UnixTimeText.rfc3339(removed.pinnedAt))); \(next)")
    }
}

struct TrustPin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin",
        abstract: "Pin NODE to the key with FINGERPRINT (source operator).",
        discussion: """
        FINGERPRINT is the SHA-256 of the node's public key, 64 hex digits, either case, with or without a \
        SHA256: prefix; `bgpmesh-agent fingerprint HOSTFILE` prints it, and the agent logs it when it \
        refuses a record (key_not_pinned ... offered SHA256:...). Replaces any pin NODE had: records for \
        NODE with any other key are refused from now on.
        """)

    @OptionGroup var state: StateOptions

    @Argument(help: ArgumentHelp("The node name.", valueName: "node"))
    var node: String

    @Argument(help: ArgumentHelp("The key's SHA-256 fingerprint.", valueName: "fingerprint"))
    var fingerprint: String

    func run() throws {
        let config: AgentConfiguration
        do { config = try state.resolve() } catch { throw fail(error.description) }
        let result: (previous: Pin?, pin: Pin)
        do {
            result = try TrustCommands.pin(node, fingerprint: fingerprint, directory: config.stateDir, now: Int64(time(nil)))
        } catch {
            throw fail(error.description)
        }
        let before = result.previous.map { "was SHA256:\($0.fingerprintSHA256) (\($0.source.rawValue))" } ?? "no pin before"
        print("pinned \(node) to SHA256:\(result.pin.fingerprintSHA256) (operator); \(before)")
    }
}
