#!/usr/bin/env python3
"""Checks of the monitoring bundle that promtool and amtool do not make on their own.

  dashboards  grafana/dashboards/*.json: valid JSON, the current schemaVersion, unique dashboard uids
              and panel ids, datasource and job variables (every datasource reference is
              ${datasource}, no hard-coded uid), every $variable defined, a unit on every panel, no
              [$__range] in a time series, the node x peer matrix and the per-peer RTT with
              thresholds at the alert levels, no hard-coded node, instance or address.
  rules       prometheus/rules/bgpmesh.rules.yml: every alert has severity, component, repairable,
              summary, description and an absolute runbook_url naming a section of docs/runbook.md;
              repairable="true" only for alerts the agent has a repair for; recording rules named
              level:metric:operations. The test file covers every alert firing and quiet, and a quiet
              case is evaluated no earlier than the alert's `for` (an earlier one cannot fail).
  promtool    the rule tests and the defect tests (rules/testdata/defects.test.yml: each group must
              pass on the rules and fail on the first bundle's, rules/testdata/wave1.rules.yml), run
              on the rules rendered with the default runbook base.
  routing     prometheus/alertmanager.yml: amtool's receivers for each kind of alert (only
              repairable alerts reach an agent), and the inhibit rules applied to each fault's alerts
              (one human notification per fault).
  targets     prometheus/prometheus.yml: every agent and etcd target sets `node`, none is parsed
              from the address.
With --defects it also runs every static check on the first bundle (prometheus/testdata/,
prometheus/rules/testdata/, grafana/testdata/wave1/) and fails unless each of its defects is found
there and not in the current bundle. Exit status 1 with one line per problem.
"""
import glob, json, os, re, shutil, subprocess, sys, tempfile
from concurrent.futures import ThreadPoolExecutor
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "prometheus"))
# Grafana 10.4 (docker-compose.yml pins it) writes dashboards with this schemaVersion.
CURRENT_SCHEMA_VERSION = 39
GRAFANA_BUILTIN_VARS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
                        "__from", "__to", "__dashboard", "__name", "__all"}
# A node name, an instance or an address from the lab or the compose stack.
HARDCODED = re.compile(r'\b(node\d+|etcd\d+|192\.0\.2\.\d+|198\.51\.100\.\d+|\w+:10179|localhost:\d+)\b')
SEVERITIES = ("critical", "warning", "info", "none")
RECORD_NAME = re.compile(r'^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9_]+$')
# Alerts the agent's webhook has a repair for: those RepairController.actions(for:) names, and
# MeshDaemonDown, whose repair (restarting the daemon of the alert's own node) the policy finds.
REPAIR_CONTROLLER = os.path.join(ROOT, "Sources/MeshAgent/Repair/RepairController.swift")
POLICY_REPAIRABLE = {"MeshDaemonDown"}
# Always firing by design: no quiet case.
ALWAYS_FIRING = {"Watchdog"}


class Report:
    def __init__(self):
        self.problems = []  # (defect id or None, text)

    def bad(self, where, msg, defect=None):
        self.problems.append((defect, f"{os.path.relpath(where, ROOT)}: {msg}"))

    def defects(self):
        return {d for d, _ in self.problems if d}


def duration(s):
    """Prometheus duration (1h30m, 90s, 2d) in seconds."""
    if isinstance(s, (int, float)):
        return float(s)
    total, units = 0.0, {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    for n, u in re.findall(r'(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)', str(s)):
        total += float(n) * units[u]
    return total


# ------------------------------------------------------------------------------------------ dashboards

def panels_of(d):
    out, stack = [], list(d.get("panels", []))
    while stack:
        p = stack.pop(0)
        out.append(p)
        stack.extend(p.get("panels", []))
    return out


# The dashboards' variables as Grafana expands them (MonitoringBundleLabTests sets the same).
DASHBOARD_VARIABLES = [("__rate_interval", "1m"), ("__interval", "15s"), ("__range", "1h"), ("session", ".*"), ("node", ".*"),
                       ("member", ".*"), ("etcd_job", "etcd"), ("job", "bgpmesh-agent")]


def check_promql(r, where, exprs):
    """Every dashboard query parses (promtool check rules on them as recording rules)."""
    if not exprs:
        return
    rules = []
    for i, e in enumerate(exprs):
        for k, v in DASHBOARD_VARIABLES:
            e = e.replace("${%s}" % k, v).replace("$" + k, v)
        rules.append({"record": f"dashboard_query_{i}", "expr": e})
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}, f)
    try:
        p = subprocess.run(["promtool", "check", "rules", f.name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        if p.returncode != 0:
            r.bad(where, "a dashboard query does not parse:\n" + p.stdout)
    finally:
        os.unlink(f.name)


def alert_threshold(alerts, name):
    """The constant an alert compares with (`> 0.2`), for the dashboards' thresholds."""
    for a in alerts:
        if a.get("alert") == name:
            m = re.search(r'>\s*([0-9.]+)\s*(?:\n|$|unless|and)', a["expr"])
            if m:
                return float(m.group(1))
    return None


def check_dashboards(r, files, alerts):
    if not files:
        r.bad(os.path.join(ROOT, "grafana/dashboards"), "no dashboards")
    seen_uids, all_exprs, matrix, rtt = {}, [], False, False
    loss_limit, rtt_limit = alert_threshold(alerts, "MeshPeerHighLoss"), alert_threshold(alerts, "MeshPeerHighLatency")
    for f in files:
        try:
            d = json.load(open(f, encoding="utf-8"))
        except ValueError as e:
            r.bad(f, f"not valid JSON: {e}")
            continue
        if d.get("schemaVersion") != CURRENT_SCHEMA_VERSION:
            r.bad(f, f"schemaVersion {d.get('schemaVersion')}, expected {CURRENT_SCHEMA_VERSION}")
        uid = d.get("uid")
        if not uid:
            r.bad(f, "no dashboard uid")
        elif uid in seen_uids:
            r.bad(f, f"dashboard uid {uid} also used by {seen_uids[uid]}")
        seen_uids[uid] = os.path.basename(f)
        tvars = d.get("templating", {}).get("list", [])
        variables = {v["name"]: v for v in tvars}
        if variables.get("datasource", {}).get("type") != "datasource":
            r.bad(f, "no `datasource` variable of type datasource", "dashboard-datasource")
        if "job" not in variables:
            r.bad(f, "no `job` template variable", "dashboard-datasource")
        if "node" not in variables:
            r.bad(f, "no `node` template variable")
        def ds_ok(ds):
            return isinstance(ds, dict) and ds.get("uid") == "${datasource}"
        for v in tvars:
            if v.get("type") == "query" and not ds_ok(v.get("datasource")):
                r.bad(f, f"variable {v['name']}: datasource {v.get('datasource')} is not ${{datasource}}", "dashboard-datasource")
        panels = panels_of(d)
        ids = [p.get("id") for p in panels]
        for i in set(ids):
            if i is None or ids.count(i) > 1:
                r.bad(f, f"panel id {i} is missing or used {ids.count(i)} times")
        for p in panels:
            if p.get("type") == "row":
                continue
            where = f"panel {p.get('id')} {p.get('title')!r}"
            if not ds_ok(p.get("datasource")):
                r.bad(f, f"{where}: datasource {p.get('datasource')} is not ${{datasource}}", "dashboard-datasource")
            unit = ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
            if not unit:
                r.bad(f, f"{where}: no unit (fieldConfig.defaults.unit)", "dashboard-units")
            targets = p.get("targets") or []
            if not targets:
                r.bad(f, f"{where}: no query")
            refs = [t.get("refId") for t in targets]
            if len(set(refs)) != len(refs):
                r.bad(f, f"{where}: duplicate refIds {refs}")
            exprs = []
            for t in targets:
                if not ds_ok(t.get("datasource")):
                    r.bad(f, f"{where} {t.get('refId')}: datasource {t.get('datasource')} is not ${{datasource}}", "dashboard-datasource")
                expr = t.get("expr", "")
                exprs.append(expr)
                if not expr.strip():
                    r.bad(f, f"{where} {t.get('refId')}: empty expr")
                for name in re.findall(r'\$\{?([A-Za-z_]\w*)', expr):
                    if name not in variables and name not in GRAFANA_BUILTIN_VARS:
                        r.bad(f, f"{where}: ${name} is not a template variable")
                if p.get("type") == "timeseries" and "$__range" in expr:
                    r.bad(f, f"{where}: a time series over [$__range] (one window for every point)", "dashboard-range")
            all_exprs += exprs
            steps = (((p.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds") or {}).get("steps") or []
            levels = {s.get("value") for s in steps}
            text = " ".join(exprs)
            if "bgpmesh_peer_loss_ratio" in text and "node_peer" in text and any(
                    (t.get("id") == "groupingToMatrix") for t in p.get("transformations", [])):
                matrix = True
                if loss_limit is not None and not any("loss" in json.dumps(o) and str(loss_limit) in json.dumps(o)
                                                      for o in (p.get("fieldConfig") or {}).get("overrides", [])) \
                        and loss_limit not in levels:
                    r.bad(f, f"{where}: no threshold at MeshPeerHighLoss's {loss_limit}", "dashboard-thresholds")
            if "bgpmesh_peer_rtt_seconds" in text and p.get("type") == "timeseries" and "peer" in json.dumps(p.get("targets")):
                rtt = True
                if unit != "s":
                    r.bad(f, f"{where}: per-peer RTT not in seconds", "dashboard-units")
                if rtt_limit is not None and rtt_limit not in levels:
                    r.bad(f, f"{where}: no threshold at MeshPeerHighLatency's {rtt_limit} s", "dashboard-thresholds")
        m = HARDCODED.search(json.dumps(d))
        if m:
            r.bad(f, f"hard-coded instance name {m.group(0)!r}")
    where = os.path.join(ROOT, "grafana/dashboards")
    check_promql(r, where, all_exprs)
    if files and not matrix:
        r.bad(where, "no node x peer matrix of reachability and loss (a groupingToMatrix table of node_peer series)", "dashboard-peers")
    if files and not rtt:
        r.bad(where, "no per-peer RTT time series (bgpmesh_peer_rtt_seconds by peer)", "dashboard-peers")
        r.bad(where, "no threshold at MeshPeerHighLatency's level (no per-peer RTT panel to carry it)", "dashboard-thresholds")
    text = " ".join(all_exprs)
    for metric, what in [("bgpmesh_scrape_collector_duration_seconds", "collector durations"), ("process_open_fds", "file descriptors"),
                         ("process_resident_memory_bytes", "memory"), ("bgpmesh_build_info", "version"),
                         ("bgpmesh_registry_synced", "registry state"), ("bgpmesh_repair_skipped_total", "repair skips")]:
        if files and metric not in text:
            r.bad(where, f"the agent's own health lacks {what} ({metric})", "dashboard-agent")
    return len(files)


# ------------------------------------------------------------------------------------------ rules

def anchor(heading):
    # GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes.
    return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')


def agent_repairable():
    try:
        text = open(REPAIR_CONTROLLER, encoding="utf-8").read()
    except OSError:
        return None
    body = text.split("func actions(for request", 1)[-1].split("default:", 1)[0]
    return set(re.findall(r'"([A-Z][A-Za-z]+)"', body)) | POLICY_REPAIRABLE


def load_rules(path):
    groups = yaml.safe_load(open(path, encoding="utf-8"))["groups"]
    rules = [r for g in groups for r in g["rules"]]
    return [r for r in rules if "alert" in r], [r for r in rules if "record" in r]


def check_rules(r, rules_file, runbook):
    anchors = {anchor(l[3:]) for l in open(runbook, encoding="utf-8") if l.startswith("## ")}
    alerts, records = load_rules(rules_file)
    repairable_by_agent = agent_repairable()
    names = [a["alert"] for a in alerts]
    for n in set(names):
        if names.count(n) > 1:
            r.bad(rules_file, f"alert {n} defined {names.count(n)} times")
    for a in alerts:
        n = a["alert"]
        labels, ann = a.get("labels", {}), a.get("annotations", {})
        if not labels.get("component"):
            r.bad(rules_file, f"{n}: no `component` label")
        if labels.get("severity") not in SEVERITIES:
            r.bad(rules_file, f"{n}: severity {labels.get('severity')!r} is not one of {SEVERITIES}")
        rep = labels.get("repairable")
        if rep not in ("true", "false"):
            r.bad(rules_file, f"{n}: `repairable` is {rep!r}, not \"true\" or \"false\" (Alertmanager sends only repairable alerts to the agents)", "repairable")
        elif rep == "true" and repairable_by_agent is not None and n not in repairable_by_agent:
            r.bad(rules_file, f"{n}: repairable=\"true\" but the agent has no repair for it (RepairController.actions(for:))", "repairable")
        for k in ("summary", "description"):
            if not ann.get(k):
                r.bad(rules_file, f"{n}: no `{k}` annotation")
        url = ann.get("runbook_url", "")
        m = re.match(r'^https?://[^\s#]+/docs/runbook\.md#([\w-]+)$', url)
        if not m:
            r.bad(rules_file, f"{n}: runbook_url {url!r} is no absolute URL of a docs/runbook.md section", "runbook-url")
        elif m.group(1) not in anchors:
            r.bad(rules_file, f"{n}: runbook_url names #{m.group(1)}, no section of docs/runbook.md", "runbook-url")
        if "runbook" in ann:
            r.bad(rules_file, f"{n}: a `runbook` annotation (integrations read runbook_url)", "runbook-url")
    for rec in records:
        name = rec["record"]
        if not RECORD_NAME.match(name):
            r.bad(rules_file, f"recording rule {name}: not level:metric:operations", "record-names")
            continue
        metric = name.split(":")[1]
        expr = rec["expr"]
        # The metric part names a series the expression reads (counters without _total).
        if not re.search(r'(?<![\w])' + re.escape(metric) + r'(_total|_bucket|_info)?(?![\w])', expr):
            r.bad(rules_file, f"recording rule {name}: its metric {metric} is not a series its expression reads", "record-names")
    return alerts


def check_tests(r, tests_file, alerts, require_all=True):
    """Coverage (firing and quiet for every alert) and quiet cases no earlier than `for`."""
    fors = {a["alert"]: duration(a.get("for", 0)) for a in alerts}
    reps = {a["alert"]: a.get("labels", {}).get("repairable") for a in alerts}
    tests = yaml.safe_load(open(tests_file, encoding="utf-8"))
    firing, quiet = {}, set()
    for t in tests["tests"]:
        for c in t.get("alert_rule_test", []):
            n = c["alertname"]
            if c.get("exp_alerts"):
                firing.setdefault(n, []).extend(c["exp_alerts"])
            else:
                at = duration(c.get("eval_time", 0))
                if n in fors and at < fors[n]:
                    r.bad(tests_file, f"{n}: quiet case at {c.get('eval_time')} is evaluated before its `for` "
                          f"({alerts and [a.get('for') for a in alerts if a['alert'] == n][0]}) has run out; it cannot fail",
                          f"early-quiet:{n}")
                else:
                    quiet.add(n)
    if not require_all:
        return
    for n in fors:
        if n not in firing:
            r.bad(tests_file, f"{n}: no test where it fires")
        elif reps.get(n) == "true" and not all("node" in (e.get("exp_labels") or {}) for e in firing[n]):
            r.bad(tests_file, f"{n}: a repairable alert fires without a `node` label (no agent to send it to)")
        if n not in quiet and n not in ALWAYS_FIRING:
            r.bad(tests_file, f"{n}: no test where it stays quiet after its `for`")
    for n in set(firing) | quiet:
        if n not in fors:
            r.bad(tests_file, f"tests an alert {n} that the rules do not define")


# ------------------------------------------------------------------------------------------ promtool

def promtool_tests(r, check_defects):
    """The rule tests and the defect tests, on the rules rendered with the default runbook base."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("generate_rules", os.path.join(ROOT, "prometheus/generate-rules.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    rules_dir = os.path.join(ROOT, "prometheus/rules")
    with tempfile.TemporaryDirectory(prefix="check-monitoring.") as tmp:
        os.makedirs(os.path.join(tmp, "testdata"))
        with open(os.path.join(tmp, "bgpmesh.rules.yml"), "w", encoding="utf-8") as f:
            f.write(gen.render(open(gen.SOURCE, encoding="utf-8").read(), gen.DEFAULT_BASE))
        shutil.copy(os.path.join(rules_dir, "bgpmesh.rules.test.yml"), tmp)
        shutil.copy(os.path.join(rules_dir, "testdata/wave1.rules.yml"), os.path.join(tmp, "testdata"))
        def run(path):
            p = subprocess.run(["promtool", "test", "rules", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=300)
            return p.returncode == 0, p.stdout
        ok, out = run(os.path.join(tmp, "bgpmesh.rules.test.yml"))
        if not ok:
            r.bad(os.path.join(rules_dir, "bgpmesh.rules.test.yml"), "promtool test rules failed:\n" + out)
        defects_file = os.path.join(rules_dir, "testdata/defects.test.yml")
        doc = yaml.safe_load(open(defects_file, encoding="utf-8"))
        results = []
        for i, group in enumerate(doc["tests"]):
            name = group.get("name", f"group {i}")
            for rules, must_pass in (("../bgpmesh.rules.yml", True), ("wave1.rules.yml", False)):
                one = dict(doc, rule_files=[rules], tests=[group])
                path = os.path.join(tmp, "testdata", f"defect{i}.{'new' if must_pass else 'wave1'}.test.yml")
                with open(path, "w", encoding="utf-8") as f:
                    yaml.safe_dump(one, f, sort_keys=False)
                ok, out = run(path)
                if must_pass and not ok:
                    r.bad(defects_file, f"defect test {name!r} fails on the rules:\n{out}")
                if not must_pass and ok and check_defects:
                    r.bad(defects_file, f"defect test {name!r} does not fail on the first bundle's rules: it proves nothing")
                if not must_pass:
                    results.append((name, not ok))
        return results


# ------------------------------------------------------------------------------------------ routing

def amtool_receivers(config, labels):
    args = ["amtool", "config", "routes", "test", f"--config.file={config}"] + [f"{k}={v}" for k, v in sorted(labels.items())]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=30)
    return set(p.stdout.strip().split(",")) if p.returncode == 0 and p.stdout.strip() else set()


def rule_labels(alerts, alertname, instance):
    for a in alerts:
        if a["alert"] == alertname:
            return dict(a.get("labels", {}), alertname=alertname, **instance)
    return None


# Which receivers each kind of alert reaches (labels as the rules give them).
ROUTES = [
    ("MeshDaemonDown", {"node": "node2", "peer": "node2", "daemon": "tincd"}, {"agent-node2", "humans"}),
    ("MeshPeerUnreachable", {"node": "node1", "peer": "node2"}, {"agent-node1", "humans"}),
    ("BGPSessionDown", {"node": "node1", "name": "bgpmesh_node2", "peer": "node2"}, {"agent-node1", "humans"}),
    ("BGPSlowConvergence", {"node": "node1", "name": "bgpmesh_node2"}, {"humans"}),
    ("BGPSessionFlapping", {"node": "node1", "name": "bgpmesh_node2", "peer": "node2"}, {"humans"}),
    ("MeshNodeDown", {"node": "node2", "peer": "node2"}, {"humans"}),
    ("MeshPeerHighLatency", {"node": "node1", "peer": "node2"}, {"humans"}),
    ("MeshHealthDegraded", {"node": "node1"}, {"null"}),
    ("AgentDown", {"node": "node1", "peer": "node1"}, {"humans"}),
    ("EtcdMemberDown", {"node": "node1", "job": "etcd"}, {"humans"}),
    ("Watchdog", {}, {"watchdog"}),
]

# Faults and the alerts their rules raise (as the rule tests show them); after inhibition, humans get
# exactly `pages` (alert names), and the wave-1 routing more.
FAULTS = [
    ("tincd killed on node2", "MeshDaemonDown", [
        ("MeshDaemonDown", {"node": "node2", "peer": "node2", "daemon": "tincd"}),
        ("MeshNodeDown", {"node": "node2", "peer": "node2"}),
        ("MeshPeerUnreachable", {"node": "node1", "peer": "node2"}),
        ("MeshPeerUnreachable", {"node": "node3", "peer": "node2"}),
        ("MeshPeerUnreachable", {"node": "node2", "peer": "node1"}),
        ("MeshPeerUnreachable", {"node": "node2", "peer": "node3"}),
        ("BGPSessionDown", {"node": "node1", "name": "bgpmesh_node2", "peer": "node2"}),
        ("BGPSessionDown", {"node": "node3", "name": "bgpmesh_node2", "peer": "node2"}),
        ("BGPSessionDown", {"node": "node2", "name": "bgpmesh_node1", "peer": "node1"}),
        ("BGPSessionDown", {"node": "node2", "name": "bgpmesh_node3", "peer": "node3"}),
        ("TincMetaConnectionsLow", {"node": "node2"}),
        ("TincDumpStale", {"node": "node2"}),
    ]),
    ("BIRD killed on node1", "MeshDaemonDown", [
        ("MeshDaemonDown", {"node": "node1", "peer": "node1", "daemon": "bird"}),
        ("BGPSessionDown", {"node": "node2", "name": "bgpmesh_node1", "peer": "node1"}),
        ("BGPSessionDown", {"node": "node3", "name": "bgpmesh_node1", "peer": "node1"}),
        ("BIRDDataStale", {"node": "node1"}),
    ]),
    ("node3 cut off from the mesh", "MeshNodeDown", [
        ("MeshNodeDown", {"node": "node3", "peer": "node3"}),
        ("MeshPeerUnreachable", {"node": "node1", "peer": "node3"}),
        ("MeshPeerUnreachable", {"node": "node2", "peer": "node3"}),
        ("MeshPeerUnreachable", {"node": "node3", "peer": "node1"}),
        ("MeshPeerUnreachable", {"node": "node3", "peer": "node2"}),
        ("BGPSessionDown", {"node": "node1", "name": "bgpmesh_node3", "peer": "node3"}),
        ("BGPSessionDown", {"node": "node3", "name": "bgpmesh_node1", "peer": "node1"}),
        ("MeshPeerHighLoss", {"node": "node2", "peer": "node3"}),
        ("RegistryNodeNotPublished", {"node": "node3"}),
    ]),
    ("the agent on node2 stopped", "AgentDown", [
        ("AgentDown", {"node": "node2", "peer": "node2"}),
        ("RegistryNodeNotAlive", {"node": "node2", "peer": "node2"}),
    ]),
    ("node1 isolated: its agent and the etcd member beside it unreachable", "AgentDown", [
        ("AgentDown", {"node": "node1", "peer": "node1"}),
        ("EtcdMemberDown", {"node": "node1", "job": "etcd", "instance": "192.0.2.1:2379"}),
        ("RegistryNodeNotAlive", {"node": "node1", "peer": "node1"}),
    ]),
    ("etcd member on node3 stopped", "EtcdMemberDown", [
        ("EtcdMemberDown", {"node": "node3", "job": "etcd", "instance": "192.0.2.3:2379"}),
    ]),
    ("host key of node2 deleted on node1", "HostKeyMissing", [
        ("HostKeyMissing", {"node": "node1", "peer": "node2"}),
        ("MeshPeerUnreachable", {"node": "node1", "peer": "node2"}),
        ("BGPSessionDown", {"node": "node1", "name": "bgpmesh_node2", "peer": "node2"}),
    ]),
    ("etcd quorum lost", "EtcdInsufficientMembers", [
        ("EtcdInsufficientMembers", {}),
        ("EtcdMemberDown", {"node": "node2", "job": "etcd", "instance": "192.0.2.2:2379"}),
        ("EtcdMemberDown", {"node": "node3", "job": "etcd", "instance": "192.0.2.3:2379"}),
        ("EtcdNoLeader", {"node": "node1", "job": "etcd", "instance": "192.0.2.1:2379"}),
        ("RegistryNotSynced", {"node": "node1"}),
        ("RegistryNotSynced", {"node": "node2"}),
        ("RegistryNodeNotPublished", {"node": "node1"}),
    ]),
]


def matches(labels, matchers):
    for m in matchers:
        mm = re.match(r'^\s*(\w+)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$', m)
        k, op, v = mm.group(1), mm.group(2), mm.group(3)
        have = labels.get(k, "")
        ok = {"=": have == v, "!=": have != v, "=~": re.fullmatch(v, have) is not None,
              "!~": re.fullmatch(v, have) is None}[op]
        if not ok:
            return False
    return True


def inhibited(alert, alerts, rules):
    for rule in rules or []:
        src, tgt = rule.get("source_matchers", []), rule.get("target_matchers", [])
        # The first bundle's form.
        src = src or [f'{k}="{v}"' for k, v in (rule.get("source_match") or {}).items()]
        tgt = tgt or [f'{k}="{v}"' for k, v in (rule.get("target_match") or {}).items()]
        if not matches(alert, tgt):
            continue
        for s in alerts:
            if s is alert or not matches(s, src):
                continue
            # Alertmanager: an alert matching both sides does not inhibit itself; a missing label equals "".
            if all(s.get(k, "") == alert.get(k, "") for k in rule.get("equal", [])):
                return True
    return False


def human_pages(config_path, alerts):
    """Alert names humans are notified of: not inhibited, routed to `humans`; one per group (alertname)."""
    cfg = yaml.safe_load(open(config_path, encoding="utf-8"))
    live = [a for a in alerts if not inhibited(a, alerts, cfg.get("inhibit_rules"))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        receivers = list(pool.map(lambda a: amtool_receivers(config_path, a), live))
    return {a["alertname"] for a, rec in zip(live, receivers) if "humans" in rec}


def check_routing(r, config, alerts, defect_suffix=""):
    known = [(name, inst, want, rule_labels(alerts, name, inst)) for name, inst, want in ROUTES]
    with ThreadPoolExecutor(max_workers=8) as pool:
        gots = list(pool.map(lambda k: amtool_receivers(config, k[3]) if k[3] else set(), known))
    for (name, inst, want, labels), got in zip(known, gots):
        if labels is None:
            r.bad(config, f"routing table: no alert {name} in the rules", "routing" + defect_suffix)
            continue
        if got != want:
            r.bad(config, f"{name} {inst} reaches {sorted(got)}, expected {sorted(want)}", "routing" + defect_suffix)
    for fault, root, raised in FAULTS:
        fired = []
        for name, inst in raised:
            labels = rule_labels(alerts, name, inst)
            if labels is None:
                r.bad(config, f"fault {fault!r}: no alert {name} in the rules", "inhibition" + defect_suffix)
                labels = dict(inst, alertname=name)
            fired.append(labels)
        pages = human_pages(config, fired)
        if pages != {root}:
            r.bad(config, f"fault {fault!r}: humans get {sorted(pages)}, expected only {root}", "inhibition" + defect_suffix)


# ------------------------------------------------------------------------------------------ targets

def check_targets(r, path):
    cfg = yaml.safe_load(open(path, encoding="utf-8"))
    for job in cfg.get("scrape_configs", []):
        if job.get("job_name") not in ("bgpmesh-agent", "etcd"):
            continue
        for rc in job.get("relabel_configs", []) or []:
            if rc.get("target_label") == "node" and "__address__" in (rc.get("source_labels") or []):
                r.bad(path, f"job {job['job_name']}: `node` parsed from the address (IP targets get an IP, IPv6 none)", "node-label")
        for sc in job.get("static_configs", []) or []:
            if not (sc.get("labels") or {}).get("node"):
                r.bad(path, f"job {job['job_name']}: targets {sc.get('targets')} without a `node` label", "node-label")


# ------------------------------------------------------------------------------------------ main

def check_bundle(r, *, rules, runbook, tests, dashboards, alertmanager, prometheus, defect_suffix=""):
    alerts = check_rules(r, rules, runbook)
    check_tests(r, tests, alerts, require_all=not defect_suffix)
    nd = check_dashboards(r, dashboards, alerts)
    check_targets(r, prometheus)
    check_routing(r, alertmanager, alerts, defect_suffix)
    return nd, alerts

# The first bundle's defects that the static checks find (promtool finds the others).
STATIC_DEFECTS = {
    "runbook-url": "annotation `runbook` with a relative path, not runbook_url",
    "record-names": "recording rules not named level:metric:operations",
    "repairable": "no `repairable` label: every bgp/mesh alert went to the agent",
    "routing": "BGPSlowConvergence and other alerts the agent cannot act on reach its webhook; no routing by severity",
    "inhibition": "one fault, many pages (the only inhibit rule does almost nothing)",
    "node-label": "`node` parsed from the target address",
    "dashboard-datasource": "hard-coded datasource uid, no datasource or job variable",
    "dashboard-peers": "no panel of probe loss or per-peer RTT",
    "dashboard-thresholds": "no thresholds at the alert levels",
    "dashboard-units": "a panel without a unit",
    "dashboard-range": "a time series over [$__range]",
    "dashboard-agent": "no panels of the agent's own health",
}
WAVE1_EARLY_QUIET = {"BGPNoRoutesImported", "MeshPeerHighLoss", "MeshPeerHighLatency", "TincMetaConnectionsLow",
                     "MeshHealthDegraded", "EtcdHighFsyncDurations", "CollectorFailing"}


def main(argv):
    check_defects = "--defects" in argv
    r = Report()
    nd, alerts = check_bundle(
        r, rules=os.path.join(ROOT, "prometheus/rules/bgpmesh.rules.yml"), runbook=os.path.join(ROOT, "docs/runbook.md"),
        tests=os.path.join(ROOT, "prometheus/rules/bgpmesh.rules.test.yml"),
        dashboards=sorted(glob.glob(os.path.join(ROOT, "grafana/dashboards/*.json"))),
        alertmanager=os.path.join(ROOT, "prometheus/alertmanager.yml"), prometheus=os.path.join(ROOT, "prometheus/prometheus.yml"))
    results = promtool_tests(r, check_defects)
    lines = []
    if check_defects:
        old = Report()
        check_bundle(
            old, rules=os.path.join(ROOT, "prometheus/rules/testdata/wave1.rules.yml"), runbook=os.path.join(ROOT, "docs/runbook.md"),
            tests=os.path.join(ROOT, "prometheus/rules/testdata/wave1.rules.test.yml"),
            dashboards=sorted(glob.glob(os.path.join(ROOT, "grafana/testdata/wave1/*.json"))),
            alertmanager=os.path.join(ROOT, "prometheus/testdata/wave1.alertmanager.yml"),
            prometheus=os.path.join(ROOT, "prometheus/testdata/wave1.prometheus.yml"), defect_suffix="")
        found = old.defects()
        for d, what in STATIC_DEFECTS.items():
            if d not in found:
                r.bad(os.path.join(ROOT, "scripts/check-monitoring.py"), f"defect {d} ({what}) is not found in the first bundle: the check proves nothing")
            lines.append(f"  {'found' if d in found else 'MISSED'} in wave 1, absent now: {what}")
        early = {d.split(":", 1)[1] for d in found if d.startswith("early-quiet:")}
        if early != WAVE1_EARLY_QUIET:
            r.bad(os.path.join(ROOT, "scripts/check-monitoring.py"),
                  f"quiet cases evaluated too early in wave 1: found {sorted(early)}, expected {sorted(WAVE1_EARLY_QUIET)}")
        lines.append(f"  found in wave 1, absent now: quiet cases that cannot fail ({', '.join(sorted(early))})")
        for name, failed in results:
            lines.append(f"  {'fails' if failed else 'PASSES'} on wave 1, passes now: {name}")
    if r.problems:
        print("\n".join(p for _, p in r.problems), file=sys.stderr)
        print(f"check-monitoring: {len(r.problems)} problem(s)", file=sys.stderr)
        return 1
    if lines:
        print("check-monitoring: the first bundle's defects, each proven:\n" + "\n".join(lines))
    print(f"check-monitoring: {nd} dashboards, {len(alerts)} alerts, {len(results)} defect tests pass")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
