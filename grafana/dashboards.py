#!/usr/bin/env python3
"""Writes grafana/dashboards/*.json, the source of the five dashboards.

  python3 grafana/dashboards.py           rewrite the JSON files
  python3 grafana/dashboards.py --check   exit 1 if a JSON file differs from what this writes
                                          (scripts/check-monitoring.sh runs it)
Edit the dashboards here, not in the JSON files (or port a change made in Grafana back here).
Every dashboard has the variables datasource (any Prometheus), job (the agents' scrape job) and node;
every panel has a unit; the thresholds of the peer panels are the alert levels, read from
prometheus/rules/bgpmesh.rules.yml.
"""
import json, os, re, sys
import yaml
DS = {"type": "prometheus", "uid": "${datasource}"}
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "dashboards")
CHECK = sys.argv[1:] == ["--check"]

def alert_level(name):
    """The constant alert `name` compares with (`... > 0.2`)."""
    groups = yaml.safe_load(open(os.path.join(HERE, "../prometheus/rules/bgpmesh.rules.yml"), encoding="utf-8"))["groups"]
    for r in (r for g in groups for r in g["rules"]):
        if r.get("alert") == name:
            m = re.search(r'>\s*([0-9.]+)\s*(?:\n|$|unless|and)', r["expr"])
            if m:
                return float(m.group(1))
    raise SystemExit(f"dashboards.py: no threshold found in alert {name}")
LOSS = alert_level("MeshPeerHighLoss")
RTT = alert_level("MeshPeerHighLatency")

class Dash:
    def __init__(self, uid, title, tags, variables, description):
        self.uid, self.title, self.tags, self.vars, self.desc = uid, title, tags, variables, description
        self.panels, self.next_id, self.x, self.y, self.rowh = [], 1, 0, 0, 0
    def add(self, type_, title, targets, w=12, h=8, desc="", **extra):
        if not ((extra.get("fieldConfig") or {}).get("defaults") or {}).get("unit"):
            raise SystemExit(f"dashboards.py: panel {title!r} has no unit")
        if self.x + w > 24:
            self.x, self.y, self.rowh = 0, self.y + self.rowh, 0
        p = {"id": self.next_id, "type": type_, "title": title, "description": desc, "datasource": DS,
             "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y}, "targets": []}
        for i, t in enumerate(targets):
            t = dict(t)
            t.setdefault("refId", chr(ord("A") + i))
            t["datasource"] = DS
            t.setdefault("range", not t.get("instant", False))
            t.setdefault("instant", False)
            p["targets"].append(t)
        p.update(extra)
        self.panels.append(p)
        self.next_id += 1
        self.x += w
        self.rowh = max(self.rowh, h)
    def row(self, title):
        self.x, self.y, self.rowh = 0, self.y + self.rowh, 0
        self.panels.append({"id": self.next_id, "type": "row", "title": title, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.next_id += 1
        self.y += 1
    def json(self):
        return {"uid": self.uid, "title": self.title, "description": self.desc, "tags": self.tags,
                "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1,
                "time": {"from": "now-1h", "to": "now"}, "refresh": "30s", "timezone": "",
                "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                          "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                          "name": "Annotations & Alerts", "type": "dashboard"}]},
                "templating": {"list": self.vars}, "panels": self.panels,
                "links": [{"title": "bgpmesh", "type": "dashboards", "tags": ["bgpmesh"], "asDropdown": True}]}

def var(name, label, query, multi=True, include_all=True):
    v = {"name": name, "label": label, "type": "query", "datasource": DS,
         "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
         "definition": query, "refresh": 2, "multi": multi, "includeAll": include_all, "sort": 1, "hide": 0, "options": []}
    if include_all:
        v["allValue"] = ".*"
        v["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return v

# Any Prometheus datasource (the provisioned one is the default); the agents' scrape job.
DATASOURCE = {"name": "datasource", "label": "datasource", "type": "datasource", "query": "prometheus", "refresh": 1,
              "hide": 0, "regex": "", "current": {}, "options": []}
JOB = var("job", "job", "label_values(bgpmesh_build_info, job)", multi=False, include_all=False)

def q(expr, legend="", **kw):
    t = {"expr": expr, "legendFormat": legend}
    t.update(kw)
    return t

def table(expr, ref=None):
    t = {"expr": expr, "format": "table", "instant": True, "range": False, "legendFormat": ""}
    if ref: t["refId"] = ref
    return t

def unit(u, **more):
    d = {"unit": u}
    d.update(more)
    return {"defaults": d, "overrides": []}

UPDOWN = [{"type": "value", "options": {"0": {"text": "down", "color": "red", "index": 0},
                                        "1": {"text": "Established", "color": "green", "index": 1}}}]
def thresholds(*steps):
    """Absolute thresholds: green below the first level."""
    return {"mode": "absolute", "steps": [{"color": "green", "value": None}] + [{"color": c, "value": v} for v, c in steps]}

def bars(u):
    return {"defaults": {"unit": u, "custom": {"drawStyle": "bars", "fillOpacity": 60}}, "overrides": []}

NODE = var("node", "node", 'label_values(bgpmesh_build_info{job=~"$job"}, node)')
N = 'job=~"$job", node=~"$node"'
VARS = [DATASOURCE, JOB, NODE]

# ---------------------------------------------------------------- mesh overview
d = Dash("bgpmesh-overview", "bgpmesh / Mesh overview", ["bgpmesh"], VARS,
         "Health, the tinc graph, BGP sessions, peer RTT and the agents' repairs.")
d.add("stat", "BGP sessions Established", [q(f'sum(node:bird_bgp_session_established:sum{{node=~"$node"}})', "established"),
                                            q(f'sum(node:bird_bgp_session_established:count{{node=~"$node"}})', "configured")],
      w=6, h=5, options={"reduceOptions": {"calcs": ["lastNotNull"]}, "textMode": "value_and_name"}, fieldConfig=unit("none"))
d.add("stat", "Peers unreachable", [q(f'count(min by (node, peer) ({{__name__=~"node_peer:bgpmesh_peer_up:min|node_peer:tinc_node_reachable:min", node=~"$node"}}) == 0) or vector(0)', "unreachable")],
      w=6, h=5, fieldConfig=unit("none", thresholds={"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]}))
d.add("stat", "Agents up", [q('sum(up{job=~"$job"})', "up"), q('count(up{job=~"$job"})', "scraped")],
      w=6, h=5, options={"textMode": "value_and_name"}, fieldConfig=unit("none"))
d.add("stat", "Firing alerts", [q('count(ALERTS{alertstate="firing", severity=~"critical|warning"}) or vector(0)', "firing")], w=6, h=5,
      fieldConfig=unit("none", thresholds={"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "orange", "value": 1}]}))
d.add("timeseries", "Health score per node", [q(f'bgpmesh_health_score{{{N}}}', "{{node}}")], w=12, h=8,
      desc="The agent's 0..1 score of its node's mesh health (1 = healthy).", fieldConfig=unit("percentunit", min=0, max=1))
d.add("nodeGraph", "tinc graph", [
        table('label_replace(label_replace(count by (from) (max by (from, to) (tinc_edge_weight)), "id", "$1", "from", "(.*)"), "title", "$1", "from", "(.*)")', "nodes"),
        table('label_replace(label_replace(label_join(max by (from, to) (tinc_edge_weight), "id", "->", "from", "to"), "source", "$1", "from", "(.*)"), "target", "$1", "to", "(.*)")', "edges")],
      w=12, h=8, desc="Nodes and edges of tincd's graph as the agents see it; node mainstat = edges out, edge mainstat = weight.",
      transformations=[{"id": "organize", "options": {"renameByName": {"Value": "mainstat"}, "excludeByName": {"Time": True, "from": True, "to": True}}}],
      options={"nodes": {}, "edges": {}}, fieldConfig=unit("none"))
d.add("table", "BGP session matrix (row: node, column: peer)",
      [table(f'max by (node, name) (bird_bgp_session_established{{{N}}})')], w=12, h=8,
      transformations=[{"id": "groupingToMatrix", "options": {"rowField": "node", "columnField": "name", "valueField": "Value"}}],
      fieldConfig={"defaults": {"unit": "none", "mappings": UPDOWN, "custom": {"cellOptions": {"type": "color-background"}}}, "overrides": []})
d.add("table", "Reachability matrix (row: node, column: peer)",
      [table(f'min by (node, peer) ({{__name__=~"node_peer:bgpmesh_peer_up:min|node_peer:tinc_node_reachable:min", node=~"$node"}})')], w=12, h=8,
      desc="1 when the node's probes and tinc both reach the peer (MeshPeerUnreachable, MeshNodeDown).",
      transformations=[{"id": "groupingToMatrix", "options": {"rowField": "node", "columnField": "peer", "valueField": "Value"}}],
      fieldConfig={"defaults": {"unit": "none", "custom": {"cellOptions": {"type": "color-background"}},
                                "mappings": [{"type": "value", "options": {"0": {"text": "unreachable", "color": "red", "index": 0},
                                                                           "1": {"text": "reachable", "color": "green", "index": 1}}}]},
                   "overrides": []})
d.add("table", "Probe loss matrix (row: node, column: peer)",
      [table(f'node_peer:bgpmesh_peer_loss_ratio:max{{node=~"$node"}}')], w=12, h=8,
      desc=f"Share of probes lost over the probe window; orange at MeshPeerHighLoss's level ({LOSS:.0%}).",
      transformations=[{"id": "groupingToMatrix", "options": {"rowField": "node", "columnField": "peer", "valueField": "Value"}}],
      fieldConfig={"defaults": {"unit": "percentunit", "min": 0, "max": 1, "color": {"mode": "thresholds"},
                                "thresholds": thresholds((LOSS, "orange"), (0.5, "red")),
                                "custom": {"cellOptions": {"type": "color-background"}}}, "overrides": []})
d.add("timeseries", "Per-peer RTT (p90, 5 m)", [q(f'node_peer_quantile:bgpmesh_peer_rtt_seconds:histogram_quantile{{quantile="0.9", node=~"$node"}}', "{{node}} → {{peer}}")],
      w=12, h=8, desc=f"90th percentile probe RTT to each peer; the line is MeshPeerHighLatency's level ({RTT} s).",
      fieldConfig={"defaults": {"unit": "s", "min": 0, "color": {"mode": "palette-classic"}, "thresholds": thresholds((RTT, "red")),
                                "custom": {"thresholdsStyle": {"mode": "line+area"}}}, "overrides": []})
d.add("timeseries", "Per-peer probe loss", [q(f'node_peer:bgpmesh_peer_loss_ratio:max{{node=~"$node"}}', "{{node}} → {{peer}}")],
      w=12, h=8, desc=f"The line is MeshPeerHighLoss's level ({LOSS:.0%}).",
      fieldConfig={"defaults": {"unit": "percentunit", "min": 0, "max": 1, "color": {"mode": "palette-classic"},
                                "thresholds": thresholds((LOSS, "red")), "custom": {"thresholdsStyle": {"mode": "line+area"}}}, "overrides": []})
d.add("heatmap", "Peer RTT", [q(f'sum by (le) (rate(bgpmesh_peer_rtt_seconds_bucket{{{N}}}[$__rate_interval]))', "{{le}}", format="heatmap")],
      w=12, h=8, desc="Probe round-trip times to every peer of the selected nodes.",
      options={"calculate": False, "yAxis": {"unit": "s"}, "cellGap": 1, "color": {"mode": "scheme", "scheme": "Spectral", "steps": 64}},
      fieldConfig=unit("s"))
d.add("timeseries", "Repairs", [q(f'sum by (node, action, result) (increase(bgpmesh_repairs_total{{{N}}}[$__rate_interval]))', "{{node}} {{action}} {{result}}")],
      w=12, h=8, fieldConfig=bars("none"))
d.add("timeseries", "Webhook alerts received", [q(f'sum by (node, status, action) (increase(bgpmesh_webhook_alerts_total{{{N}}}[$__rate_interval]))', "{{node}} {{status}} {{action}}")],
      w=12, h=8, fieldConfig=bars("none"))
d.add("table", "Health problems", [table(f'bgpmesh_health_problems{{{N}}} > 0')], w=12, h=8, fieldConfig=unit("none"),
      transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True}}}])
d.add("table", "Firing alerts", [table('ALERTS{alertstate="firing"}')], w=12, h=8, fieldConfig=unit("none"),
      transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True, "Value": True, "alertstate": True}}}])
overview = d

# ---------------------------------------------------------------- BGP sessions
SESSION = var("session", "session", 'label_values(bird_bgp_session_established{job=~"$job", node=~"$node"}, name)')
S = 'job=~"$job", node=~"$node", name=~"$session"'
d = Dash("bgpmesh-bgp", "bgpmesh / BGP sessions", ["bgpmesh", "bird"], VARS + [SESSION],
         "BIRD's BGP sessions: state, routes, updates, convergence and flaps.")
d.add("state-timeline", "Session state", [q(f'max by (node, name) (bird_bgp_session_established{{{S}}})', "{{node}} → {{name}}")],
      w=24, h=8, fieldConfig={"defaults": {"unit": "none", "mappings": UPDOWN, "color": {"mode": "thresholds"},
                                            "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]}}, "overrides": []},
      options={"showValue": "never", "mergeValues": True})
d.add("table", "Session details", [table(f'bird_bgp_session_info{{{S}}}'), table(f'bird_proto_uptime_seconds{{proto="BGP", {S}}}')], w=12, h=8,
      transformations=[{"id": "merge", "options": {}},
                       {"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True, "Value #A": True, "proto": True},
                                                      "renameByName": {"Value #B": "uptime"}}}],
      fieldConfig={"defaults": {"unit": "none"}, "overrides": [{"matcher": {"id": "byName", "options": "uptime"}, "properties": [{"id": "unit", "value": "s"}]}]})
d.add("table", "Last errors", [table(f'bird_bgp_last_error_info{{{S}}}')], w=12, h=8, desc="Sessions for which BIRD shows a last error.", fieldConfig=unit("none"),
      transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True, "Value": True}}}])
d.add("timeseries", "Routes imported per channel", [q(f'sum by (node, name, channel) (bird_channel_routes{{proto="BGP", kind="imported", {S}}})', "{{node}} ← {{name}} {{channel}}")], w=12, fieldConfig=unit("none"))
d.add("timeseries", "Routes exported per channel", [q(f'sum by (node, name, channel) (bird_channel_routes{{proto="BGP", kind="exported", {S}}})', "{{node}} → {{name}} {{channel}}")], w=12, fieldConfig=unit("none"))
d.add("timeseries", "Updates received", [q(f'node_name_kind:bird_channel_route_changes:rate5m{{node=~"$node", name=~"$session"}}', "{{node}} ← {{name}} {{kind}}")], w=12,
      fieldConfig=unit("ops"), desc="Route updates and withdraws received from each peer (5-minute rate).")
d.add("timeseries", "Updates sent", [q(f'sum by (node, name, kind) (rate(bird_channel_route_changes_total{{proto="BGP", direction="export", result="accepted", {S}}}[$__rate_interval]))', "{{node}} → {{name}} {{kind}}")], w=12,
      fieldConfig=unit("ops"))
d.add("timeseries", "Last convergence time", [q(f'bird_bgp_convergence_seconds{{{S}}}', "{{node}} ← {{name}}")], w=12, fieldConfig=unit("s"),
      desc="From Established until the imported route count is stable.")
d.add("stat", "Convergence time (p50, p90 over the dashboard range)",
      [q(f'histogram_quantile(0.5, sum by (node, le) (increase(bird_bgp_convergence_duration_seconds_bucket{{{N}}}[$__range])))', "p50 {{node}}", instant=True, range=False),
       q(f'histogram_quantile(0.9, sum by (node, le) (increase(bird_bgp_convergence_duration_seconds_bucket{{{N}}}[$__range])))', "p90 {{node}}", instant=True, range=False)],
      w=12, fieldConfig=unit("s"), options={"reduceOptions": {"calcs": ["lastNotNull"]}, "textMode": "value_and_name"})
d.add("timeseries", "Flaps", [q(f'increase(bird_bgp_session_flaps_total{{{S}}}[$__rate_interval])', "{{node}} ↔ {{name}}")], w=12,
      fieldConfig=bars("none"))
d.add("stat", "Flaps in the dashboard range", [q(f'sum by (node) (increase(bird_bgp_session_flaps_total{{{S}}}[$__range]))', "{{node}}", instant=True, range=False)], w=12,
      options={"reduceOptions": {"calcs": ["lastNotNull"]}}, fieldConfig=unit("none"))
bgp = d

# ---------------------------------------------------------------- tinc
d = Dash("bgpmesh-tinc", "bgpmesh / tinc", ["bgpmesh", "tinc"], VARS, "tincd: nodes, edges, path MTU, meta connections, interface traffic, host keys.")
d.add("stat", "tincd up", [q(f'tinc_up{{{N}}}', "{{node}}")], w=6, h=5,
      fieldConfig={"defaults": {"unit": "none", "mappings": [{"type": "value", "options": {"0": {"text": "down", "color": "red"}, "1": {"text": "up", "color": "green"}}}]}, "overrides": []})
d.add("stat", "Edges in tincd's graph", [q(f'tinc_edges{{{N}}}', "{{node}}")], w=6, h=5, fieldConfig=unit("none"))
d.add("stat", "Unidentified meta connections", [q(f'tinc_connections_unidentified{{{N}}}', "{{node}}")], w=6, h=5, fieldConfig=unit("none"))
d.add("stat", "Dump age", [q(f'tinc_dump_age_seconds{{{N}}}', "{{node}}")], w=6, h=5, desc="Orange at TincDumpStale's 2 minutes.",
      fieldConfig=unit("s", color={"mode": "thresholds"}, thresholds=thresholds((120, "orange"))))
d.add("timeseries", "Nodes reachable / relayed", [q(f'sum by (node) (tinc_node_reachable{{{N}}})', "{{node}} reachable"),
                                                  q(f'sum by (node) (tinc_node_indirect{{{N}}})', "{{node}} relayed")], w=12, fieldConfig=unit("none"))
d.add("timeseries", "Meta connections / ConnectTo lines", [q(f'node:tinc_connection_up:sum{{node=~"$node"}}', "{{node}} connections"),
                                                           q(f'sum by (node) (tinc_connectto_configured{{{N}}})', "{{node}} ConnectTo")], w=12, fieldConfig=unit("none"))
d.add("timeseries", "Path MTU", [q(f'tinc_node_pmtu_bytes{{{N}}}', "{{node}} → {{peer}}")], w=12, fieldConfig=unit("bytes"))
d.add("timeseries", "Edge weights", [q(f'max by (from, to) (tinc_edge_weight{{job=~"$job"}})', "{{from}} → {{to}}")], w=12, desc="tinc's edge weight (its RTT estimate in ms).",
      fieldConfig=unit("ms"))
d.add("timeseries", "Interface traffic", [q(f'rate(tinc_interface_receive_bytes_total{{{N}}}[$__rate_interval])', "{{node}} {{interface}} in"),
                                          q(f'-rate(tinc_interface_transmit_bytes_total{{{N}}}[$__rate_interval])', "{{node}} {{interface}} out")], w=12, fieldConfig=unit("Bps"))
d.add("timeseries", "Interface errors and drops", [
        q(f'rate(tinc_interface_receive_errors_total{{{N}}}[$__rate_interval]) + rate(tinc_interface_transmit_errors_total{{{N}}}[$__rate_interval])', "{{node}} {{interface}} errors"),
        q(f'rate(tinc_interface_receive_dropped_total{{{N}}}[$__rate_interval]) + rate(tinc_interface_transmit_dropped_total{{{N}}}[$__rate_interval])', "{{node}} {{interface}} dropped")],
      w=12, fieldConfig=unit("pps"))
d.add("table", "Host keys", [table(f'tinc_host_key_info{{{N}}}'), table(f'tinc_host_key_valid{{{N}}}')], w=12, fieldConfig=unit("none"),
      transformations=[{"id": "merge", "options": {}},
                       {"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True, "Value #A": True}, "renameByName": {"Value #B": "valid"}}}])
d.add("timeseries", "Agent writes (host files, ConnectTo changes)", [q(f'sum by (node) (increase(bgpmesh_hostfile_writes_total{{{N}}}[$__rate_interval]))', "{{node}} host files"),
                                                                     q(f'sum by (node) (increase(bgpmesh_connectto_changes_total{{{N}}}[$__rate_interval]))', "{{node}} ConnectTo")], w=12,
      fieldConfig=bars("none"))
tinc = d

# ---------------------------------------------------------------- etcd and registry
# etcd members carry the `node` label of their target too (prometheus.yml); `member` selects them.
EJOB = var("etcd_job", "etcd job", "label_values(etcd_server_has_leader, job)", multi=False, include_all=False)
MEMBER = var("member", "member", 'label_values(etcd_server_has_leader{job=~"$etcd_job"}, node)')
E = 'job=~"$etcd_job", node=~"$member"'
d = Dash("bgpmesh-etcd", "bgpmesh / etcd and registry", ["bgpmesh", "etcd"], VARS + [EJOB, MEMBER], "The etcd cluster and the agents' registry in it.")
d.add("stat", "Members up", [q('sum(up{job=~"$etcd_job"})', "up"), q('count(up{job=~"$etcd_job"})', "members")], w=6, h=5,
      options={"textMode": "value_and_name"}, fieldConfig=unit("none"))
d.add("stat", "Has leader", [q(f'etcd_server_has_leader{{{E}}}', "{{node}}")], w=6, h=5,
      fieldConfig={"defaults": {"unit": "none", "mappings": [{"type": "value", "options": {"0": {"text": "no", "color": "red"}, "1": {"text": "yes", "color": "green"}}}]}, "overrides": []})
d.add("stat", "Leader changes in the dashboard range", [q(f'max(increase(etcd_server_leader_changes_seen_total{{{E}}}[$__range]))', "changes", instant=True, range=False)],
      w=6, h=5, fieldConfig=unit("none"))
d.add("stat", "Registry nodes alive", [q(f'max(bgpmesh_registry_nodes{{state="alive", {N}}})', "alive"), q(f'max(bgpmesh_registry_nodes{{state="dead", {N}}})', "dead")],
      w=6, h=5, options={"textMode": "value_and_name"}, fieldConfig=unit("none"))
d.add("timeseries", "WAL fsync p99", [q(f'instance_quantile:etcd_disk_wal_fsync_duration_seconds:histogram_quantile{{quantile="0.99", {E}}}', "{{node}}")], w=12,
      desc="The line is EtcdHighFsyncDurations' level.", fieldConfig=unit("s", thresholds=thresholds((alert_level("EtcdHighFsyncDurations"), "red")),
                                                                         custom={"thresholdsStyle": {"mode": "line"}}))
d.add("timeseries", "Backend commit p99", [q(f'histogram_quantile(0.99, sum by (node, le) (rate(etcd_disk_backend_commit_duration_seconds_bucket{{{E}}}[$__rate_interval])))', "{{node}}")], w=12, fieldConfig=unit("s"))
d.add("timeseries", "Peer RTT p99", [q(f'histogram_quantile(0.99, sum by (node, To, le) (rate(etcd_network_peer_round_trip_time_seconds_bucket{{{E}}}[$__rate_interval])))', "{{node}} → {{To}}")], w=12, fieldConfig=unit("s"))
d.add("timeseries", "Leader seen by the agents", [q(f'bgpmesh_etcd_has_leader{{{N}}}', "{{node}} has leader"), q(f'bgpmesh_etcd_up{{{N}}}', "{{node}} etcd up")], w=12,
      fieldConfig=unit("none"))
d.add("timeseries", "Registry nodes", [q(f'bgpmesh_registry_nodes{{{N}}}', "{{node}} {{state}}")], w=12, fieldConfig=unit("none"))
d.add("timeseries", "Registry changes", [q(f'sum by (node, reason) (increase(bgpmesh_registry_rejected_records_total{{{N}}}[$__rate_interval]))', "{{node}} rejected {{reason}}"),
                                         q(f'sum by (node) (increase(bgpmesh_registry_key_changes_total{{{N}}}[$__rate_interval]))', "{{node}} key changes")], w=12,
      fieldConfig=bars("none"))
d.add("timeseries", "Agent etcd requests", [q(f'sum by (node, op) (rate(bgpmesh_etcd_request_duration_seconds_count{{{N}}}[$__rate_interval]))', "{{node}} {{op}}"),
                                            q(f'sum by (node, op) (rate(bgpmesh_etcd_request_failures_total{{{N}}}[$__rate_interval]))', "{{node}} {{op}} failed")], w=12, fieldConfig=unit("reqps"))
d.add("timeseries", "Database size and quota", [q(f'etcd_mvcc_db_total_size_in_bytes{{{E}}}', "{{node}}"),
                                                q(f'max(etcd_server_quota_backend_bytes{{{E}}})', "quota")], w=12, fieldConfig=unit("bytes"),
      desc="EtcdDatabaseQuotaLow fires at 80 % of the quota.")
etcd = d

# ---------------------------------------------------------------- the agents themselves
d = Dash("bgpmesh-agent", "bgpmesh / Agents", ["bgpmesh"], VARS,
         "The agents' own health: version, collectors, resources, registry state, repairs and webhook.")
d.add("table", "Version and uptime", [table(f'bgpmesh_build_info{{{N}}}', "A"), table(f'time() - process_start_time_seconds{{{N}}}', "B"),
                                      table(f'bgpmesh_repair_mode_info{{{N}}}', "C")], w=24, h=6,
      transformations=[{"id": "merge", "options": {}},
                       {"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True, "Value #A": True, "Value #C": True},
                                                      "renameByName": {"Value #B": "uptime", "mode": "repair mode"}}}],
      fieldConfig={"defaults": {"unit": "none"}, "overrides": [{"matcher": {"id": "byName", "options": "uptime"}, "properties": [{"id": "unit", "value": "s"}]}]})
d.add("timeseries", "Collector durations", [q(f'bgpmesh_scrape_collector_duration_seconds{{{N}}}', "{{node}} {{collector}}")], w=12, fieldConfig=unit("s"))
d.add("state-timeline", "Collector success", [q(f'bgpmesh_scrape_collector_success{{{N}}}', "{{node}} {{collector}}")], w=12,
      fieldConfig={"defaults": {"unit": "none", "color": {"mode": "thresholds"}, "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
                                "mappings": [{"type": "value", "options": {"0": {"text": "failed", "color": "red"}, "1": {"text": "ok", "color": "green"}}}]}, "overrides": []},
      options={"showValue": "never", "mergeValues": True})
d.add("timeseries", "Open file descriptors (share of the limit)", [q(f'process_open_fds{{{N}}} / process_max_fds{{{N}}}', "{{node}}")], w=12,
      fieldConfig=unit("percentunit", min=0, thresholds=thresholds((0.8, "red"))))
d.add("timeseries", "Resident memory", [q(f'process_resident_memory_bytes{{{N}}}', "{{node}}")], w=12, fieldConfig=unit("bytes"))
d.add("timeseries", "CPU", [q(f'rate(process_cpu_seconds_total{{{N}}}[$__rate_interval])', "{{node}}")], w=12, fieldConfig=unit("percentunit"),
      desc="CPU time per second (1 = one core).")
d.add("state-timeline", "Registry synced and published", [q(f'bgpmesh_registry_synced{{{N}}}', "{{node}} synced"), q(f'bgpmesh_registry_published{{{N}}}', "{{node}} published")],
      w=12, fieldConfig={"defaults": {"unit": "none", "color": {"mode": "thresholds"}, "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
                                      "mappings": [{"type": "value", "options": {"0": {"text": "no", "color": "red"}, "1": {"text": "yes", "color": "green"}}}]}, "overrides": []},
      options={"showValue": "never", "mergeValues": True})
d.add("timeseries", "Registry revision", [q(f'bgpmesh_registry_revision{{{N}}}', "{{node}}")], w=12, fieldConfig=unit("none"),
      desc="The etcd revision each agent's view reflects; one that stays behind is not synced.")
d.add("timeseries", "Repairs by result", [q(f'sum by (node, result) (increase(bgpmesh_repairs_total{{{N}}}[$__rate_interval]))', "{{node}} {{result}}")], w=12,
      fieldConfig=bars("none"))
d.add("timeseries", "Repairs skipped", [q(f'sum by (node, reason) (increase(bgpmesh_repair_skipped_total{{{N}}}[$__rate_interval]))', "{{node}} {{reason}}")], w=12,
      fieldConfig=bars("none"), desc="Repairs the agent held back, by reason (once per episode).")
d.add("timeseries", "Webhook requests refused (401)", [q(f'sum by (node) (increase(bgpmesh_http_requests_total{{code="401", {N}}}[$__rate_interval])) or sum by (node) (bgpmesh_http_requests_total{{{N}}}) * 0', "{{node}}")],
      w=12, fieldConfig=bars("none"), desc="Requests with a missing or wrong bearer token (AgentWebhookUnauthorized).")
d.add("timeseries", "Alertmanager notifications failed", [q('sum by (integration) (increase(alertmanager_notifications_failed_total[$__rate_interval]))', "{{integration}}")],
      w=12, fieldConfig=bars("none"))
agent = d

stale = []
for name, dd in [("mesh-overview", overview), ("bgp-sessions", bgp), ("tinc", tinc), ("etcd-registry", etcd), ("agents", agent)]:
    path = f"{OUT}/{name}.json"
    text = json.dumps(dd.json(), indent=2, ensure_ascii=False) + "\n"
    if CHECK:
        if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
            stale.append(path)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
if stale:
    print("grafana/dashboards.py: out of date (run python3 grafana/dashboards.py): " + ", ".join(stale), file=sys.stderr)
    sys.exit(1)
