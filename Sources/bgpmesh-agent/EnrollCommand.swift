import ArgumentParser
import Glibc
import MeshAgent
import POSIXSupport

/// `bgpmesh-agent enroll`: the admin signs that a node name may join with one key.
struct Enroll: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign an enrollment statement: the --node name may join the mesh with the key of --fingerprint.",
        discussion: """
        Needed when the agents run with registry.admin-public-key: then a name is accepted only with a \
        statement signed by the matching admin private key. Run this where the admin key is kept (not on the \
        nodes), then copy the statement to the node as its registry.enrollment-file (default \
        <state.dir>/enrollment.json); the node's agent publishes it with its record, and every peer checks \
        it. The statement holds no secret (written with mode 0644).

        Make the admin key once, and give admin.pub to every agent as registry.admin-public-key:
          openssl genrsa -out admin.priv 4096
          openssl rsa -in admin.priv -pubout -out admin.pub
        The private key file must be mode 600 or stricter. The node's fingerprint comes from its tinc host \
        file: bgpmesh-agent fingerprint /etc/tinc/NET/hosts/NAME

        The statement (JSON) goes to stdout, or atomically to --output; a summary, with the admin key's \
        fingerprint, goes to stderr.
        """)

    @Option(help: ArgumentHelp("The admin's RSA private key (PEM, mode 600).", valueName: "file"))
    var adminKey: String

    @Option(help: ArgumentHelp("The node name.", valueName: "name"))
    var node: String

    @Option(help: ArgumentHelp("SHA-256 of the node's tinc public key, 64 hex digits (SHA256: prefix allowed).", valueName: "sha256"))
    var fingerprint: String

    @Option(help: ArgumentHelp("The statement expires this long from now: 30d, 12h, 90m.", valueName: "duration"))
    var expires: String?

    @Option(help: ArgumentHelp("The statement expires at this time: unix seconds, or RFC 3339 (2027-01-31T00:00:00Z).",
                               valueName: "time"))
    var expiresAt: String?

    @Option(help: ArgumentHelp("Write the statement here (atomically, mode 0644) instead of stdout.", valueName: "file"))
    var output: String?

    func validate() throws {
        guard expires == nil || expiresAt == nil else { throw ValidationError("give --expires or --expires-at, not both") }
    }

    func run() throws {
        let now = Int64(time(nil))
        var expiry: Int64?
        if let expires {
            guard let duration = DurationSyntax.parse(expires), duration >= .seconds(1) else {
                throw fail("--expires \(expires.debugDescription): want a duration of at least 1s, like 30d, 12h or 90m")
            }
            expiry = now + duration.components.seconds
        }
        if let expiresAt {
            guard let at = UnixTimeText.parse(expiresAt) else {
                throw fail("--expires-at \(expiresAt.debugDescription): want unix seconds or an RFC 3339 time like 2027-01-31T00:00:00Z")
            }
            guard at > now else { throw fail("--expires-at \(expiresAt) (\(UnixTimeText.rfc3339(at))) is not in the future") }
            expiry = at
        }
        let signed: (statement: EnrollmentStatement, adminFingerprint: String)
        do {
            signed = try TrustCommands.enroll(adminKeyFile: adminKey, name: node, fingerprint: fingerprint, expiresAt: expiry)
        } catch {
            throw fail(error.description)
        }
        if let output {
            do { try TrustCommands.write(signed.statement, to: output) } catch { throw fail(error.description) }
        } else {
            do { try Syscall.writeAll(1, signed.statement.encoded() + [0x0A]) } catch { throw fail("cannot write to standard output: \(error)") }
        }
        let until = expiry.map { "until \(UnixTimeText.rfc3339($0))" } ?? "without expiry"
        let summary = "enrolled \(node) with key SHA256:\(signed.statement.fingerprintSHA256) \(until), "
            + "signed by the admin key SHA256:\(signed.adminFingerprint)" + (output.map { "; written to \($0)" } ?? "") + "\n"
        try? Syscall.writeAll(2, Array(summary.utf8))
    }
}

/// `bgpmesh-agent fingerprint FILE`: the value `enroll` and `trust pin` want.
struct Fingerprint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the SHA-256 fingerprint of an RSA public key (a tinc host file or a PEM key file).",
        discussion: """
        The fingerprint is the SHA-256 of the key's SubjectPublicKeyInfo, in 64 lowercase hex digits: the \
        fingerprint_sha256 of the node's record in etcd, and what trust pin and enroll --fingerprint take. \
        The same as
          openssl rsa -RSAPublicKey_in -in FILE -pubout -outform DER | sha256sum
        for a tinc host file (openssl pkey -pubin ... for a BEGIN PUBLIC KEY file).
        """)

    @Argument(help: ArgumentHelp("A tinc host file (hosts/NAME), rsa_key.pub, or an openssl -pubout file.", valueName: "file"))
    var file: String

    func run() throws {
        let fingerprint: String
        do { fingerprint = try TrustCommands.fingerprint(ofPublicKeyFile: file) } catch { throw fail(error.description) }
        print(fingerprint)
    }
}
