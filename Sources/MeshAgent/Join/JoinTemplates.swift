/// The files `bgpmesh-agent join` writes, as pure functions of a checked request.
public enum JoinTemplates {
    static let marker = "Written by bgpmesh-agent join"

    /// tinc.conf: the node's name and interface, no ConnectTo (the agent keeps those in conf.d).
    /// `Mode = switch`: BGP runs directly over the interface and the routes' next hops are the
    /// peers' overlay addresses, which a router-mode tinc would need a Subnet line for each.
    public static func tincConf(_ s: JoinSpec) -> String {
        """
        # \(marker) for \(s.name). join never overwrites it.
        # The agent keeps the ConnectTo lines in conf.d/bgpmesh.conf.
        Name = \(s.name)
        Mode = switch
        Interface = \(s.interface)
        AddressFamily = \(s.underlayFamily == .ipv4 ? "ipv4" : "ipv6")
        Port = \(s.port)

        """
    }

    /// hosts/<name> before `tincd -K` appends the public key.
    public static func hostFile(_ s: JoinSpec) -> String {
        var text = "Address = \(s.underlay)\nPort = \(s.port)\n"
        for o in s.overlays { text += "Subnet = \(o.host)\n" }
        return text
    }

    /// tinc-up. The interface is persistent (made before tincd starts), so a tincd restart runs
    /// this again on the same device: `replace`, not `add`.
    public static func tincUp(_ s: JoinSpec) -> String {
        var text = """
        #!/bin/sh
        # \(marker) for \(s.name). \(s.interface) is persistent: this runs again at every tincd start.
        ip link set dev "$INTERFACE" mtu 1400 up
        
        """
        if let v4 = s.overlay4 { text += "ip addr replace \(v4.withLength) dev \"$INTERFACE\"\n" }
        // nodad: the IPv6 address must be usable before BIRD binds its sessions.
        if let v6 = s.overlay6 { text += "ip -6 addr replace \(v6.withLength) dev \"$INTERFACE\" nodad\n" }
        return text
    }

    /// tinc-down keeps the persistent interface up with its addresses and routes, so BGP's TCP
    /// sessions ride a tincd restart out (docs/operation.md, persistent interface).
    public static func tincDown(_ s: JoinSpec) -> String {
        """
        #!/bin/sh
        # \(marker) for \(s.name). \(s.interface) is persistent: keep it up, with its addresses
        # and routes, across a tincd restart. Nothing to undo here.
        exit 0

        """
    }

    /// The BGP template the agent's peers file uses (`bird.template`); bird.conf includes it
    /// before the peers file.
    public static func birdTemplate(_ s: JoinSpec) -> String {
        let local = s.overlay4?.address ?? s.overlay6?.address ?? s.underlay
        var text = """
        # \(marker) for \(s.name): the template the agent's BGP peers (\(s.birdPeersFile)) are made from.
        # join never overwrites it; restrict `import` to your mesh's prefixes if others could be announced.
        template bgp \(s.birdTemplate) {
          local \(local) as \(s.asn);
          direct;
          # \(s.interface) has no carrier while tincd restarts; the session rides that out.
          check link no;
          connect delay time 1;
          connect retry time 5;
          error wait time 5, 30;
          hold time 30;
          keepalive time 10;
          ipv4 { import all; export where source = RTS_STATIC || source = RTS_BGP; gateway direct; };

        """
        if let v6 = s.overlay6 {
            text += "  ipv6 { import all; export where source = RTS_STATIC || source = RTS_BGP; next hop address \(v6.address); gateway direct; };\n"
        }
        return text + "}\n"
    }

    /// The two lines an operator's own bird.conf needs (after its protocols, in this order).
    public static func birdIncludes(_ s: JoinSpec) -> String {
        "include \"\(s.birdTemplateFile)\";\ninclude \"\(s.birdPeersFile)\";\n"
    }

    /// A whole bird.conf for a node that has none: interfaces, kernel export, the announced
    /// prefixes, then the template and the peers.
    public static func birdConf(_ s: JoinSpec) -> String {
        var text = """
        # \(marker) for \(s.name) (BIRD 2). join never overwrites it: edit freely.
        router id \(s.routerID);

        protocol device { scan time 10; }
        protocol direct { ipv4; ipv6; interface "\(s.interface)"; }
        protocol kernel kernel4 { ipv4 { import none; export where source = RTS_BGP; }; }
        protocol kernel kernel6 { ipv6 { import none; export where source = RTS_BGP; }; }

        """
        let v4 = s.announce.filter { $0.family == .ipv4 }, v6 = s.announce.filter { $0.family == .ipv6 }
        if !v4.isEmpty { text += "protocol static static4 { ipv4; \(v4.map { "route \($0) blackhole;" }.joined(separator: " ")) }\n" }
        if !v6.isEmpty { text += "protocol static static6 { ipv6; \(v6.map { "route \($0) blackhole;" }.joined(separator: " ")) }\n" }
        return text + "\n# The template, then the peers the agent writes from the registry.\n" + birdIncludes(s)
    }

    /// The agent's config file: every path join used, the registry, BGP peers from the registry.
    public static func agentConfig(_ s: JoinSpec) -> String {
        var pairs: [(key: String, value: String)] = [
            ("web.listen-address", "[\(quote(s.listen))]"),
            ("etcd.endpoints", "[\(s.etcdEndpoints.map(quote).joined(separator: ", "))]"),
            ("mesh.overlay-prefixes", "[\(s.meshPrefixes.map { quote($0.description) }.joined(separator: ", "))]"),
            ("mesh.asn", "\(s.asn)"),
            ("collector.tinc.net", quote(s.net)),
            ("collector.tinc.dir", quote(s.tincDir)),
            ("collector.tinc.interface", quote(s.interface)),
            ("collector.bird.socket", quote(s.birdSocket)),
            ("bird.peers-file", quote(s.birdPeersFile)),
            ("bird.template", quote(s.birdTemplate)),
            ("state.dir", quote(s.stateDir)),
        ]
        // --set wins over join's own value for the same key (a key twice is a config error).
        for (key, values) in s.settings {
            let value = values.count == 1 ? quote(values[0]) : "[\(values.map(quote).joined(separator: ", "))]"
            if let i = pairs.firstIndex(where: { $0.key == key }) { pairs[i].value = value } else { pairs.append((key, value)) }
        }
        let lines = [
            "# \(marker) for \(s.name). join never overwrites it; check changes with",
            "# `bgpmesh-agent check-config --config.file \(s.configFile)` (docs/configuration.md lists every key).",
        ] + pairs.map { "\($0.key): \($0.value)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A single-quoted YAML scalar.
    static func quote(_ s: String) -> String { "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'" }
}
