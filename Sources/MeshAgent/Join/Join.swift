import EtcdClient
import Glibc
import POSIXSupport
import TincControl

/// What `join` did (or, with `--dry-run`, would do) to each item of the plan.
public struct JoinReport: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        /// `created`, `kept`, `key added`, `would create`, `would keep`...
        public var action: String
        public var label: String
        public var path: String
    }

    public var lines: [Line] = []
    /// Things the operator must still do (an include missing from a kept bird.conf...).
    public var notes: [String] = []

    public var created: [Line] { lines.filter { $0.action != "kept" && $0.action != "would keep" } }

    public var text: String {
        let width = lines.map(\.action.count).max() ?? 0
        var out = lines.map { $0.action + String(repeating: " ", count: width - $0.action.count) + "  \($0.label): \($0.path)" }
        out += notes.map { "note: \($0)" }
        return out.joined(separator: "\n") + "\n"
    }
}

/// `bgpmesh-agent join`: creates what a node of the mesh is missing and never overwrites what
/// exists. Publishing the node is the agent's own job once it runs (`RegistrySync` publishes
/// `nodes/<name>` from the files written here); `JoinWait` waits for its sessions.
public enum Join {
    /// The programs join runs, found in PATH before anything is written.
    public struct Tools: Sendable, Equatable {
        public var tincd: String
        public var bird: String
        /// `ip`, only needed to make the persistent interface.
        public var ip: String?

        public init(tincd: String, bird: String, ip: String?) {
            self.tincd = tincd
            self.bird = bird
            self.ip = ip
        }

        /// tincd and bird from `searchPath` (`PATH`), or a clear error naming what is missing.
        public static func find(searchPath: String, needIP: Bool) throws(JoinError) -> Tools {
            guard let tincd = which("tincd", searchPath) else {
                throw .missingBinary(name: "tincd", hint: "install tinc 1.0, e.g. `apt-get install tinc`")
            }
            guard let bird = which("bird", searchPath) else {
                throw .missingBinary(name: "bird", hint: "install BIRD 2, e.g. `apt-get install bird2`")
            }
            let ip = which("ip", searchPath)
            if needIP && ip == nil { throw .missingBinary(name: "ip", hint: "install iproute2, or pass --no-create-interface") }
            return Tools(tincd: tincd, bird: bird, ip: ip)
        }

        static func which(_ name: String, _ searchPath: String) -> String? {
            for dir in searchPath.split(separator: ":") where dir.hasPrefix("/") {
                let candidate = "\(dir)/\(name)"
                if access(candidate, X_OK) == 0 { return candidate }
            }
            return nil
        }
    }

    /// Asks etcd's status on the endpoints (one answer is enough) within `timeout`.
    public static func checkEtcd(_ endpoints: [String], timeout: Duration) async throws(JoinError) {
        let client: EtcdClient
        do {
            client = try EtcdClient(configuration: .init(endpoints: endpoints, connectTimeout: timeout, requestTimeout: timeout, threads: 1))
        } catch {
            throw .invalid(flag: "--etcd", value: endpoints.joined(separator: ","), reason: "\(error)")
        }
        defer { client.shutdown() }
        var last = "no answer"
        for endpoint in endpoints {
            do {
                _ = try await client.status(endpoint: endpoint)
                return
            } catch {
                last = "\(endpoint): \(error)"
            }
        }
        throw .etcdUnreachable(endpoints: endpoints, seconds: Int(timeout.components.seconds), reason: last)
    }

    /// Works through `JoinPlan.items`: checks every conflict first (nothing is written when one
    /// is found), then creates each missing item. With `dryRun` it only reports.
    public static func run(_ s: JoinSpec, tools: Tools, dryRun: Bool, createInterface: Bool) async throws(JoinError) -> JoinReport {
        let items = JoinPlan.items(s, createInterface: createInterface)
        try checkConflicts(s, items)
        var report = JoinReport()
        for item in items {
            let action = try await apply(item, s, tools: tools, dryRun: dryRun)
            report.lines.append(.init(action: action, label: item.label, path: item.path))
        }
        let includes = [s.birdTemplateFile, s.birdPeersFile]
        if let conf = try? String(decoding: RegularFile.read(s.birdConf, limit: 1 << 20), as: UTF8.self),
           !includes.allSatisfy({ conf.contains("\"\($0)\"") }) {
            report.notes.append("\(s.birdConf) is the operator's and does not include join's files: add, after its protocols,\n"
                                + JoinTemplates.birdIncludes(s).split(separator: "\n").map { "    \($0)" }.joined(separator: "\n"))
        }
        // BIRD's parser checks what join wrote; an operator's kept bird.conf is theirs, not join's to judge.
        if !dryRun, report.created.contains(where: { $0.path == s.birdConf || $0.path == s.birdTemplateFile }) {
            try await checkBird(s, tools: tools)
        }
        return report
    }

    // MARK: - Conflicts

    static func checkConflicts(_ s: JoinSpec, _ items: [JoinItem]) throws(JoinError) {
        for item in items {
            switch item.kind {
            case .directory:
                if let type = fileType(item.path), type != S_IFDIR { throw .conflict(path: item.path, reason: "exists and is not a directory") }
            case .file:
                if let type = fileType(item.path), type != S_IFREG { throw .conflict(path: item.path, reason: "exists and is not a regular file") }
            case .keyPair, .interface:
                break
            }
        }
        let conf = s.tincDir + "/tinc.conf"
        if fileType(conf) != nil {
            let name: String?
            do { name = try TincConfigDirectory(path: s.tincDir).serverConfig().name } catch {
                throw .conflict(path: conf, reason: "unreadable: \(error)")
            }
            guard name == s.name.rawValue else {
                throw .conflict(path: conf, reason: "says Name = \(name ?? "(none)"), not \(s.name); pass --name \(name ?? "?") or another --net")
            }
        }
        let hostKey = try hostPublicKey(s)
        if fileType(s.privateKeyFile) != nil {
            let key: TincRSAPrivateKey
            do { key = try TincRSAPrivateKey(contentsOfFile: s.privateKeyFile) } catch {
                throw .conflict(path: s.privateKeyFile, reason: "not a usable RSA private key: \(error)")
            }
            if let hostKey, hostKey != key.publicKey {
                throw .conflict(path: s.hostFile, reason: "its public key does not match \(s.privateKeyFile); restore the matching pair")
            }
        } else if hostKey != nil {
            throw .conflict(path: s.hostFile, reason: "holds a public key but \(s.privateKeyFile) is missing; restore the private key "
                            + "(a new one would not match what the mesh pinned)")
        }
    }

    static func hostPublicKey(_ s: JoinSpec) throws(JoinError) -> TincRSAPublicKey? {
        guard fileType(s.hostFile) != nil else { return nil }
        do { return try TincConfigDirectory(path: s.tincDir).hostFile(s.name).publicKey } catch {
            throw .conflict(path: s.hostFile, reason: "unreadable: \(error)")
        }
    }

    // MARK: - Applying one item

    static func apply(_ item: JoinItem, _ s: JoinSpec, tools: Tools, dryRun: Bool) async throws(JoinError) -> String {
        switch item.kind {
        case .directory(let mode):
            if fileType(item.path) != nil { return dryRun ? "would keep" : "kept" }
            if dryRun { return "would create" }
            try makeDirectories(item.path, mode: mode_t(mode))
            return "created"
        case .file(let content, let mode):
            if fileType(item.path) != nil { return dryRun ? "would keep" : "kept" }
            if dryRun { return "would create" }
            if item.path == s.configFile { try checkAgentConfig(content, s) }
            do {
                // Never over a file that appeared since the check above (another join, the operator).
                try TincAtomicFile.write(content, to: item.path, mode: mode_t(mode), replacing: false)
            } catch {
                if case .system(_, "link", EEXIST) = error { return "kept" }
                throw .failed(step: "writing \(item.path)", reason: "\(error)")
            }
            return "created"
        case .keyPair(let bits):
            return try await keyPair(s, bits: bits, tools: tools, dryRun: dryRun)
        case .interface(let name, let tap):
            if fileType("/sys/class/net/\(name)") != nil { return dryRun ? "would keep" : "kept" }
            if dryRun { return "would create" }
            guard let ip = tools.ip else { throw .missingBinary(name: "ip", hint: "install iproute2") }
            try await runTool([ip, "tuntap", "add", "dev", name, "mode", tap ? "tap" : "tun"], step: "creating interface \(name)")
            return "created"
        }
    }

    /// rsa_key.priv from `tincd -K` (which appends the public key to the host file), or, when the
    /// private key exists and the host file lacks the public key, that key added to the host file.
    static func keyPair(_ s: JoinSpec, bits: Int, tools: Tools, dryRun: Bool) async throws(JoinError) -> String {
        let hasPrivate = fileType(s.privateKeyFile) != nil
        let hostKey = try hostPublicKey(s)
        if hasPrivate && hostKey != nil { return dryRun ? "would keep" : "kept" }
        if hasPrivate {
            if dryRun { return "would add the public key to the host file" }
            let key: TincRSAPrivateKey
            do { key = try TincRSAPrivateKey(contentsOfFile: s.privateKeyFile) } catch {
                throw .conflict(path: s.privateKeyFile, reason: "not a usable RSA private key: \(error)")
            }
            var host = (try? RegularFile.read(s.hostFile, limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if !host.isEmpty && !host.hasSuffix("\n") { host += "\n" }
            do { try TincAtomicFile.write(host + key.publicKey.pem, to: s.hostFile, mode: 0o644) } catch {
                throw .failed(step: "writing \(s.hostFile)", reason: "\(error)")
            }
            return "public key added to the host file"
        }
        if dryRun { return "would create (tincd -K \(bits))" }
        // tinc 1.0.36 asks for the file names only when stdin is a terminal; CommandRunner gives /dev/null.
        try await runTool([tools.tincd, "-n", s.net, "-c", s.tincDir, "-K", String(bits)], step: "tincd -K", timeout: .seconds(120))
        guard chmod(s.privateKeyFile, 0o600) == 0 else {
            throw .failed(step: "tincd -K", reason: "\(s.privateKeyFile) not written (chmod: \(String(cString: strerror(errno))))")
        }
        let key: TincRSAPrivateKey
        do { key = try TincRSAPrivateKey(contentsOfFile: s.privateKeyFile) } catch {
            throw .failed(step: "tincd -K", reason: "\(s.privateKeyFile) is not a usable key: \(error)")
        }
        guard try hostPublicKey(s) == key.publicKey else {
            throw .failed(step: "tincd -K", reason: "\(s.hostFile) did not get the matching public key")
        }
        return "created"
    }

    /// The config file join writes must be one the agent starts with.
    static func checkAgentConfig(_ text: String, _ s: JoinSpec) throws(JoinError) {
        do {
            let config = try AgentConfiguration.parse(yaml: text, path: s.configFile)
            try Agent.validate(config)
        } catch {
            throw .invalid(flag: "--set", value: s.settings.map { "\($0.key)=\($0.values.joined(separator: ","))" }.joined(separator: " "),
                           reason: "the agent would refuse the config: \(error)")
        }
    }

    /// `bird -p`: BIRD parses bird.conf with join's includes.
    static func checkBird(_ s: JoinSpec, tools: Tools) async throws(JoinError) {
        try await runTool([tools.bird, "-p", "-c", s.birdConf], step: "bird -p -c \(s.birdConf)")
    }

    public static func runTool(_ argv: [String], step: String, timeout: Duration = .seconds(20)) async throws(JoinError) {
        switch await CommandRunner.run(argv, timeout: timeout) {
        case .failure(let error):
            throw .failed(step: step, reason: "\(error)")
        case .success(let outcome) where !outcome.succeeded:
            let text = outcome.outputText.split(separator: "\n").suffix(3).joined(separator: " / ")
            throw .failed(step: step, reason: "\(outcome.termination): \(text)")
        case .success:
            return
        }
    }

    // MARK: - Files

    static func fileType(_ path: String) -> mode_t? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return st.st_mode & S_IFMT
    }

    /// mkdir -p: missing parents get 0755, the directory itself `mode`.
    static func makeDirectories(_ path: String, mode: mode_t) throws(JoinError) {
        var prefix = ""
        let parts = path.split(separator: "/")
        for (i, part) in parts.enumerated() {
            prefix += "/" + part
            if fileType(prefix) != nil { continue }
            let m: mode_t = i == parts.count - 1 ? mode : 0o755
            guard mkdir(prefix, m) == 0 || errno == EEXIST else {
                throw .failed(step: "creating \(prefix)", reason: String(cString: strerror(errno)))
            }
            // The umask may have narrowed the mode.
            _ = chmod(prefix, m)
        }
    }
}
