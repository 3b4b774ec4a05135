/// One `Variable = Value` line of a tinc configuration or host file.
public struct TincConfigEntry: Sendable, Hashable {
    /// As written; tinc compares variable names case-insensitively.
    public var variable: String
    public var value: String
    public var file: String
    public var line: Int

    public init(variable: String, value: String, file: String, line: Int) {
        self.variable = variable
        self.value = value
        self.file = file
        self.line = line
    }

    public func isVariable(_ name: String) -> Bool {
        variable.lowercased() == name.lowercased()
    }
}

/// Pure reader of tinc's configuration syntax, as 1.0.36 conf.c read_config_file and
/// parse_config_line read it: `#` comments and empty lines skipped, `-----BEGIN` ... `-----END`
/// blocks (the PEM key in a host file) skipped, `Variable = Value` or `Variable Value`, trailing
/// blanks and a CR dropped. A variable without a value is an error, as it is for tincd.
/// Variables are matched case-insensitively (`isVariable`).
public enum TincConfigParser {
    public static func parse(_ text: String, file: String) throws(TincParseError) -> [TincConfigEntry] {
        var entries: [TincConfigEntry] = []
        var inPEM = false
        var number = 0
        // "\r\n" is one Character in Swift, so split on both forms; tinc strips a trailing CR.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            var line = rawLine
            if line.last == "\r" { line = line.dropLast() }
            if line.isEmpty || line.first == "#" { continue }
            if inPEM {
                if line.hasPrefix("-----END") { inPEM = false }
                continue
            }
            if line.hasPrefix("-----BEGIN") { inPEM = true; continue }
            while let last = line.last, last == " " || last == "\t" { line = line.dropLast() }
            if line.isEmpty { continue }
            let variable = line.prefix { $0 != " " && $0 != "\t" && $0 != "=" }
            var value = line[variable.endIndex...].drop { $0 == " " || $0 == "\t" }
            if value.first == "=" { value = value.dropFirst().drop { $0 == " " || $0 == "\t" } }
            // A line that starts with a blank or "=" gives tincd an empty variable name, which
            // nothing looks up; it is kept (with variable "") as tincd keeps it.
            guard !value.isEmpty else {
                throw .malformedConfig(file: file, line: number, reason: "No value for variable `\(TincParseError.excerpt(String(variable)))'")
            }
            entries.append(TincConfigEntry(variable: String(variable), value: String(value), file: file, line: number))
        }
        return entries
    }
}

/// What the agent needs from `tinc.conf` plus `conf.d/*.conf` (1.0.36 conf.c read_server_config
/// reads tinc.conf, then every `conf.d/*.conf`; tincd takes them in readdir order, this reader
/// sorts them by name so results are stable).
public struct TincServerConfig: Sendable, Hashable {
    public var name: String?
    public var mode: String?
    /// ConnectTo values in file order: tinc.conf first, then conf.d files sorted by name.
    public var connectTo: [String]
    /// Every entry, for anything else a caller needs (Interface, Port, ...).
    public var entries: [TincConfigEntry]

    public init(entries: [TincConfigEntry]) {
        self.entries = entries
        name = entries.first { $0.isVariable("Name") }?.value
        mode = entries.first { $0.isVariable("Mode") }?.value
        connectTo = entries.filter { $0.isVariable("ConnectTo") }.map(\.value)
    }

    /// Values of `variable` (case-insensitive), in order.
    public func values(_ variable: String) -> [String] {
        entries.filter { $0.isVariable(variable) }.map(\.value)
    }

    /// Parses tinc.conf and the conf.d files (`[(file name, text)]`, conf.d names without a
    /// `.conf` suffix are ignored as tincd does).
    public static func parse(tincConf: String, tincConfPath: String = "tinc.conf",
                             confD: [(path: String, text: String)]) throws(TincParseError) -> TincServerConfig {
        var entries = try TincConfigParser.parse(tincConf, file: tincConfPath)
        for (path, text) in confD.sorted(by: { $0.path < $1.path }) {
            let base = path.split(separator: "/").last.map(String.init) ?? path
            guard base.utf8.count > 5, base.hasSuffix(".conf") else { continue }
            entries += try TincConfigParser.parse(text, file: path)
        }
        return TincServerConfig(entries: entries)
    }
}

/// One `Address = HOST [PORT]` line of a host file.
public struct TincHostAddress: Sendable, Hashable {
    public var host: String
    public var port: String?

    public init(host: String, port: String? = nil) {
        self.host = host
        self.port = port
    }
}

/// A parsed `hosts/<name>` file: addresses, port, subnets and the RSA public key.
public struct TincHostFile: Sendable, Hashable {
    public var name: String
    public var addresses: [TincHostAddress]
    public var port: String?
    public var subnets: [TincSubnet]
    /// The key when the file holds a valid PEM RSA public key block.
    public var publicKey: TincRSAPublicKey?
    /// Why there is no valid key (missing block, bad base64, not RSA, ...); nil when there is one.
    public var publicKeyProblem: String?
    /// Subnet lines that do not parse (tincd would refuse them at connect time).
    public var invalidSubnets: [String]
    public var entries: [TincConfigEntry]

    /// Parses a host file's text. Throws only for what makes tincd refuse the whole file
    /// (a variable without a value); a missing or broken key is reported in `publicKeyProblem`.
    public init(name: String, text: String, path: String? = nil) throws(TincParseError) {
        let file = path ?? "hosts/\(name)"
        entries = try TincConfigParser.parse(text, file: file)
        self.name = name
        addresses = entries.filter { $0.isVariable("Address") }.map { entry in
            let parts = entry.value.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return TincHostAddress(host: String(parts.first ?? ""), port: parts.count > 1 ? String(parts[1]) : nil)
        }
        port = entries.first { $0.isVariable("Port") }?.value
        var subnets: [TincSubnet] = []
        var invalid: [String] = []
        for entry in entries where entry.isVariable("Subnet") {
            if let subnet = try? TincSubnet(parsing: Substring(entry.value), owner: name) {
                subnets.append(subnet)
            } else {
                invalid.append(entry.value)
            }
        }
        self.subnets = subnets
        invalidSubnets = invalid
        do {
            publicKey = try TincRSAPublicKey(pemText: text)
            publicKeyProblem = nil
        } catch {
            publicKey = nil
            publicKeyProblem = error.description
        }
    }
}

/// Renders the files the agent writes (the caller installs them with `TincAtomicFile`).
public enum TincConfigWriter {
    /// `conf.d/bgpmesh.conf`: one `ConnectTo = NAME` per peer, sorted and de-duplicated so the
    /// same set always renders the same bytes (an unchanged file is never rewritten).
    public static func connectToFile(_ peers: [TincNodeName], header: String = "Managed by bgpmesh-agent; do not edit.") -> String {
        var text = header.split(separator: "\n").map { "# \($0)\n" }.joined()
        for peer in Set(peers).sorted() { text += "ConnectTo = \(peer.rawValue)\n" }
        return text
    }

    /// A host file: Address lines, Port, Subnet lines, then the PEM key block. Values with a line
    /// break or NUL are refused, since they could inject configuration.
    public static func hostFile(addresses: [TincHostAddress], port: String?, subnets: [TincSubnet],
                                publicKeyPEM: String) throws(TincParseError) -> String {
        var text = ""
        func safe(_ value: String) throws(TincParseError) -> String {
            guard !value.isEmpty, !value.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" || $0 == " " || $0 == "\t" }) else {
                throw .malformedConfig(file: "host file", line: 0, reason: "unsafe value \(TincParseError.excerpt(value).debugDescription)")
            }
            return value
        }
        for address in addresses {
            text += "Address = \(try safe(address.host))"
            if let port = address.port { text += " \(try safe(port))" }
            text += "\n"
        }
        if let port { text += "Port = \(try safe(port))\n" }
        for subnet in subnets { text += "Subnet = \(subnet.description)\n" }
        let key = try TincRSAPublicKey(pemText: publicKeyPEM)
        text += "\n" + key.pem
        return text
    }
}
