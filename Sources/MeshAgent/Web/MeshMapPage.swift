#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// The landing page: the mesh as an SVG graph drawn here (no script needed to see it, nothing
/// fetched from elsewhere), the health, the sessions and the last repairs, and a small script
/// that refreshes it from `/api/v1/mesh` and `/api/v1/status`. Pure: the same inputs give the
/// same bytes. Every string from the registry, the daemons or the status goes through `HTML.escape`.
public enum MeshMapPage {
    public struct Collector: Sendable {
        public var name: String
        public var success: Bool
        public var error: String?
        public init(name: String, success: Bool, error: String?) {
            self.name = name
            self.success = success
            self.error = error
        }
    }

    /// The SVG's side in user units; nodes lie on a circle around its centre.
    static let size = 800

    /// Node positions on a circle, in name order (numbers within names by value: node2 before
    /// node10) from the top, clockwise; integers, so the output is the same on every run.
    public static func layout(_ names: [String]) -> [String: (x: Int, y: Int, angle: Double)] {
        let sorted = names.sorted { naturalKey($0).lexicographicallyPrecedes(naturalKey($1)) || (naturalKey($0) == naturalKey($1) && $0 < $1) }
        let centre = Double(size) / 2
        let radius = sorted.count <= 1 ? 0 : Double(size) * (sorted.count > 16 ? 0.36 : 0.32)
        var out: [String: (x: Int, y: Int, angle: Double)] = [:]
        for (i, name) in sorted.enumerated() {
            let angle = 2 * Double.pi * Double(i) / Double(max(1, sorted.count)) - Double.pi / 2
            out[name] = (Int((centre + radius * cos(angle)).rounded()), Int((centre + radius * sin(angle)).rounded()), angle)
        }
        return out
    }

    /// A name as comparable chunks: runs of digits become their value (zero-padded to 20
    /// digits), so `node2` sorts before `node10`.
    static func naturalKey(_ name: String) -> [String] {
        var chunks: [String] = [], current = "", digits = false
        func flush() {
            guard !current.isEmpty else { return }
            chunks.append(digits ? String(repeating: "0", count: max(0, 20 - current.count)) + current : current)
            current = ""
        }
        for c in name {
            let isDigit = c.isASCII && c.isNumber
            if isDigit != digits {
                flush()
                digits = isDigit
            }
            current.append(c)
        }
        flush()
        return chunks
    }

    /// `tinc-direct bgp-up` and the like: the edge's CSS classes.
    static func edgeClass(_ edge: MeshDocument.Edge) -> String {
        let bgp = edge.bgp.map { $0 == "Established" ? "bgp-up" : "bgp-down" } ?? "bgp-none"
        return "edge tinc-\(edge.tinc) \(bgp)"
    }

    static func nodeClass(_ node: MeshDocument.Node, me: String?) -> String {
        var classes = ["node", node.alive ? "alive" : "dead", "view-\(node.view)"]
        if node.name == me { classes.append("this") }
        return classes.joined(separator: " ")
    }

    /// The graph alone: one `g.node` per node, one `line.edge` per edge.
    public static func svg(_ mesh: MeshDocument) -> String {
        let places = layout(mesh.nodes.map(\.name))
        let many = mesh.nodes.count > 16
        // Many edges: the healthy ones fade, so the broken ones stand out.
        let dense = mesh.edges.count > max(48, 3 * mesh.nodes.count) ? " class=\"dense\"" : ""
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"mesh\"\(dense) viewBox=\"0 0 \(size) \(size)\" role=\"img\" "
            + "aria-label=\"mesh map: \(mesh.nodes.count) nodes, \(mesh.edges.count) edges\">\n"
        for edge in mesh.edges {
            guard let a = places[edge.a], let b = places[edge.b] else { continue }
            out += "<line class=\"\(edgeClass(edge))\" data-a=\"\(HTML.escape(edge.a))\" data-b=\"\(HTML.escape(edge.b))\" "
                + "data-tinc=\"\(HTML.escape(edge.tinc))\" data-bgp=\"\(HTML.escape(edge.bgp ?? ""))\" "
                + "x1=\"\(a.x)\" y1=\"\(a.y)\" x2=\"\(b.x)\" y2=\"\(b.y)\"><title>\(HTML.escape(edge.label))</title></line>\n"
        }
        for node in mesh.nodes {
            guard let p = places[node.name] else { continue }
            let isMe = node.name == mesh.node
            let r = isMe ? (many ? 9 : 14) : (many ? 6 : 10)
            var title = node.name + (isMe ? " (this node)" : "") + (node.alive ? ", alive" : ", not alive")
            if !node.overlay.isEmpty { title += ", overlay " + node.overlay.joined(separator: " ") }
            title += ", view: " + node.view + (node.viewProblem.map { " (\($0))" } ?? "")
            // Labels point away from the centre; with many nodes they are turned along the radius.
            let degrees = node.name == mesh.nodes.first?.name && mesh.nodes.count == 1 ? 0 : p.angle * 180 / Double.pi
            let onLeft = cos(p.angle) < -0.01
            let gap = Double(r + 6)
            let lx = Int((Double(p.x) + gap * cos(p.angle)).rounded()), ly = Int((Double(p.y) + gap * sin(p.angle)).rounded())
            let label: String
            if many {
                let turn = Int((onLeft ? degrees + 180 : degrees).rounded())
                label = "<text x=\"\(lx)\" y=\"\(ly)\" dy=\"0.35em\" text-anchor=\"\(onLeft ? "end" : "start")\" "
                    + "transform=\"rotate(\(turn) \(lx) \(ly))\">\(HTML.escape(node.name))</text>"
            } else {
                let anchor = abs(cos(p.angle)) < 0.3 ? "middle" : onLeft ? "end" : "start"
                let dy = sin(p.angle) < -0.3 ? "-0.2em" : sin(p.angle) > 0.3 ? "1em" : "0.35em"
                label = "<text x=\"\(lx)\" y=\"\(ly)\" dy=\"\(dy)\" text-anchor=\"\(anchor)\">\(HTML.escape(node.name))</text>"
            }
            out += "<g class=\"\(nodeClass(node, me: mesh.node))\" data-name=\"\(HTML.escape(node.name))\">"
                + "<circle cx=\"\(p.x)\" cy=\"\(p.y)\" r=\"\(r)\"/>\(label)<title>\(HTML.escape(title))</title></g>\n"
        }
        return out + "</svg>"
    }

    /// The whole page.
    public static func render(mesh: MeshDocument, status: StatusDigest?, version: String, collectors: [Collector], api: Bool) -> String {
        let node = mesh.node ?? status?.node ?? "?"
        let score = status?.health?.score.map { fixed($0, 2) } ?? "?"
        let problems = (status?.health?.problems ?? []).map { "<li>\(HTML.escape($0.reason ?? $0.kind ?? "?"))</li>" }.joined()
        let peers = (status?.peers ?? []).map { p in
            row([p.name, p.alive == false ? "no" : "yes", p.tinc, p.probe_rtt_seconds.map { fixed($0 * 1000, 1) } ?? "",
                 p.probe_loss_ratio.flatMap { Self.whole(($0 * 100).rounded()) }.map { "\($0)%" } ?? "", p.host_file ?? ""])
        }.joined(separator: "\n")
        let sessions = (status?.sessions ?? []).map { s in
            row([s.name, s.peer ?? "", s.neighbor ?? "", s.state ?? "", s.down_seconds.flatMap(Self.whole).map { "\($0) s" } ?? ""])
        }.joined(separator: "\n")
        let repairs = (status?.recent_actions ?? []).prefix(10).map { a in
            row([a.time.flatMap(Self.whole).map { UnixTimeText.rfc3339($0) } ?? "", a.action ?? "", a.target ?? "", a.trigger ?? "", a.result ?? "",
                 a.reason ?? ""])
        }.joined(separator: "\n")
        let reports = collectors.map { row([$0.name, $0.success ? "ok" : "failed", $0.error ?? ""]) }.joined(separator: "\n")
        let apiItems = api ? """
            <li><a href="/api/v1/status">/api/v1/status</a>: health, peers, sessions and recent repairs (JSON)</li>
            <li><a href="/api/v1/mesh">/api/v1/mesh</a>: the whole mesh as every node sees it (JSON)</li>
            <li>POST /api/v1/alerts (Alertmanager webhook) and POST /api/v1/repair, with the bearer token</li>
            """ : ""
        let names = mesh.nodes.map(\.name).joined(separator: " ")
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head><meta charset="utf-8"><title>bgpmesh-agent: \(HTML.escape(node))</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>\(style)</style></head>
            <body data-refreshed="0">
            <h1>bgpmesh-agent <span id="node">\(HTML.escape(node))</span></h1>
            <p class="muted">\(HTML.escape(version))</p>
            <div class="top">
            <div id="map" data-nodes="\(HTML.escape(names))">\(svg(mesh))</div>
            <div class="side">
            <h2>Health <span id="score">\(score)</span></h2>
            <ul id="problems">\(problems)</ul>
            <p class="legend"><span class="k direct"></span>tinc direct <span class="k relayed"></span>relayed
            <span class="k down"></span>down <span class="k bgpdown"></span>BGP not Established<br>
            Relayed: no meta connection between the two, reachable through other nodes. Hover an edge
            for both ends' view (BGP, RTT, loss).</p>
            </div></div>
            <h2>Peers</h2>
            <table id="peers"><thead><tr><th>peer</th><th>alive</th><th>tinc</th><th>RTT ms</th><th>loss</th><th>host file</th></tr></thead>
            <tbody>\(peers)</tbody></table>
            <h2>Sessions</h2>
            <table id="sessions"><thead><tr><th>protocol</th><th>peer</th><th>neighbor</th><th>state</th><th>down for</th></tr></thead>
            <tbody>\(sessions)</tbody></table>
            <h2>Last repairs</h2>
            <table id="repairs"><thead><tr><th>time</th><th>action</th><th>target</th><th>trigger</th><th>result</th><th>reason</th></tr></thead>
            <tbody>\(repairs)</tbody></table>
            <h2>Endpoints</h2>
            <ul>
            <li><a href="/metrics">/metrics</a>: Prometheus metrics (text 0.0.4 or OpenMetrics, gzip)</li>
            <li><a href="/healthz">/healthz</a>: liveness</li>
            <li><a href="/readyz">/readyz</a>: readiness (every collector has completed once)</li>
            \(apiItems)
            </ul>
            <h2>Collectors</h2>
            <table><thead><tr><th>collector</th><th>last result</th><th>error</th></tr></thead>
            <tbody>\(reports)</tbody></table>
            \(api ? "<script>\(script)</script>" : "")
            </body>
            </html>

            """
    }

    /// `value` with `digits` decimals (no Foundation formatting: FoundationEssentials lacks it).
    /// A finite value within ±10^15 as a whole number, else nil (values from a status document are
    /// input: converting a huge one would trap).
    static func whole(_ value: Double) -> Int64? {
        value.isFinite && abs(value) < 1e15 ? Int64(value) : nil
    }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite, abs(value) < 1e12 else { return "?" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale), fraction = scaled % Int64(scale)
        let sign = value < 0 && scaled != 0 ? "-" : ""
        return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole)." + NumberText.padded(Int(fraction), width: digits)
    }

    static func row(_ cells: [String]) -> String {
        "<tr>" + cells.map { "<td>\(HTML.escape($0))</td>" }.joined() + "</tr>"
    }

    static let style = """
        body{font-family:sans-serif;margin:1.5em;color:#222}td,th{padding:.15em .8em;text-align:left}
        th{border-bottom:1px solid #ccc}.muted{color:#666}.top{display:flex;flex-wrap:wrap;gap:1em}
        #map{flex:0 1 640px}#map svg{width:100%;max-width:640px;height:auto;border:1px solid #ddd;background:#fcfcfc}
        .side{flex:1 1 18em}#score{font-weight:bold}
        line.edge{stroke-width:1.5}line.bgp-up{stroke-width:3}line.bgp-down{stroke-width:3}
        line.tinc-direct{stroke:#2e7d32}line.tinc-relayed{stroke:#78909c;stroke-dasharray:8 5;stroke-width:1.5}
        line.tinc-down{stroke:#c62828;stroke-dasharray:2 4}line.tinc-unknown{stroke:#9e9e9e}line.bgp-down{stroke:#c62828;stroke-width:3}
        svg.dense line.tinc-relayed{stroke-width:1;opacity:.35}svg.dense line.tinc-direct{stroke-width:2}
        g.node circle{fill:#1565c0;stroke:#fff;stroke-width:2}g.node.dead circle{fill:#9e9e9e}
        g.node.view-unverified circle{stroke:#c62828;stroke-dasharray:3 2}g.node.this circle{stroke:#ffb300;stroke-width:4}
        g.node text{font-size:13px}g.node.this text{font-weight:bold}
        .k{display:inline-block;width:2em;height:0;border-top:3px solid;margin:0 .3em;vertical-align:middle}
        .k.direct{border-color:#2e7d32}.k.relayed{border-color:#78909c;border-top-style:dashed}
        .k.down{border-color:#c62828;border-top-style:dotted}.k.bgpdown{border-color:#c62828}
        """

    /// Refreshes the graph's states, the health and the tables every 5 s; a changed set of
    /// nodes or edges swaps in the map of a freshly rendered page. Only textContent is set
    /// from the data, never markup.
    static let script = """
        (function(){
        var count=0;
        function get(u){return fetch(u,{cache:'no-store'}).then(function(r){if(!r.ok)throw new Error(u+': '+r.status);return r.json();});}
        function cls(e){return 'edge tinc-'+e.tinc+' '+(e.bgp==null?'bgp-none':e.bgp==='Established'?'bgp-up':'bgp-down');}
        function fill(id,list,cells){var t=document.getElementById(id);if(!t)return;var b=t.tBodies[0];
        while(b.rows.length)b.deleteRow(0);list.forEach(function(x){var r=b.insertRow();cells(x).forEach(function(c){r.insertCell().textContent=c==null?'':String(c);});});}
        function swapMap(){return fetch('/',{cache:'no-store'}).then(function(r){return r.text();}).then(function(t){
        var d=new DOMParser().parseFromString(t,'text/html');var m=d.getElementById('map');var o=document.getElementById('map');
        if(m&&o){o.innerHTML=m.innerHTML;o.setAttribute('data-nodes',m.getAttribute('data-nodes'));}});}
        function mesh(m){var map=document.getElementById('map');
        if(m.nodes.map(function(n){return n.name;}).join(' ')!==map.getAttribute('data-nodes'))return swapMap();
        var lines={};map.querySelectorAll('line.edge').forEach(function(l){lines[l.getAttribute('data-a')+' '+l.getAttribute('data-b')]=l;});
        var keys=m.edges.map(function(e){return e.a+' '+e.b;});
        if(keys.slice().sort().join('|')!==Object.keys(lines).sort().join('|'))return swapMap();
        m.edges.forEach(function(e){var l=lines[e.a+' '+e.b];l.setAttribute('class',cls(e));l.setAttribute('data-tinc',e.tinc);
        l.setAttribute('data-bgp',e.bgp||'');var t=l.querySelector('title');if(t)t.textContent=e.label;});
        m.nodes.forEach(function(n){map.querySelectorAll('g.node').forEach(function(g){if(g.getAttribute('data-name')!==n.name)return;
        var c=['node',n.alive?'alive':'dead','view-'+n.view];if(n.name===m.node)c.push('this');g.setAttribute('class',c.join(' '));});});}
        function status(s){var h=s.health||{};document.getElementById('score').textContent=h.score==null?'?':h.score.toFixed(2);
        var p=document.getElementById('problems');p.textContent='';(h.problems||[]).forEach(function(x){var li=document.createElement('li');
        li.textContent=x.reason||x.kind;p.appendChild(li);});
        fill('peers',s.peers||[],function(x){var t=x.tinc_reachable==null?'?':!x.tinc_reachable?'down':x.meta_connection?'direct':'relayed';
        return [x.name,x.alive===false?'no':'yes',t,x.probe_rtt_seconds==null?'':(x.probe_rtt_seconds*1000).toFixed(1),
        x.probe_loss_ratio==null?'':Math.round(x.probe_loss_ratio*100)+'%',x.host_file];});
        fill('sessions',s.sessions||[],function(x){return [x.name,x.peer,x.neighbor,x.state,x.down_seconds==null?'':Math.floor(x.down_seconds)+' s'];});
        fill('repairs',(s.recent_actions||[]).slice(0,10),function(x){return [x.time==null?'':new Date(x.time*1000).toISOString().replace('.000',''),
        x.action,x.target,x.trigger,x.result,x.reason];});}
        function refresh(){Promise.all([get('/api/v1/mesh'),get('/api/v1/status')]).then(function(r){
        return Promise.resolve(mesh(r[0])).then(function(){status(r[1]);document.body.setAttribute('data-refreshed',String(++count));});
        }).catch(function(e){document.body.setAttribute('data-refresh-error',String(e));});}
        setInterval(refresh,5000);
        })();
        """
}
