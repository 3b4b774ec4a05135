#!/usr/bin/env python3
"""Static checks of the monitoring bundle that promtool and amtool do not make.

  dashboards  grafana/dashboards/*.json: valid JSON, the current schemaVersion, unique dashboard
              uids and panel ids, every datasource reference is the provisioned uid, every
              $variable is defined, no hard-coded node, instance or address.
  rules       prometheus/rules/bgpmesh.rules.yml: every alert has severity, component, summary,
              description and a runbook that names an existing section of docs/runbook.md, and the
              promtool test file covers it both firing (with a node label) and not firing.
Exit status 1 with one line per problem.
"""
import glob, json, os, re, sys
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Grafana 10.4 (docker-compose.yml pins it) writes dashboards with this schemaVersion.
CURRENT_SCHEMA_VERSION = 39
GRAFANA_BUILTIN_VARS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
                        "__from", "__to", "__dashboard", "__name", "__all"}
# A node name, an instance or an address from the lab or the compose stack.
HARDCODED = re.compile(r'\b(node\d+|etcd\d+|192\.0\.2\.\d+|198\.51\.100\.\d+|\w+:10179|localhost:\d+)\b')

problems = []
def bad(where, msg):
    problems.append(f"{os.path.relpath(where, ROOT)}: {msg}")

def check_dashboards():
    prov = os.path.join(ROOT, "grafana/provisioning/datasources/prometheus.yml")
    uids = {d["uid"] for d in yaml.safe_load(open(prov))["datasources"]}
    prov_dash = yaml.safe_load(open(os.path.join(ROOT, "grafana/provisioning/dashboards/bgpmesh.yml")))
    if not prov_dash.get("providers"):
        bad(prov, "no dashboard provider")
    files = sorted(glob.glob(os.path.join(ROOT, "grafana/dashboards/*.json")))
    if not files:
        bad(os.path.join(ROOT, "grafana/dashboards"), "no dashboards")
    seen_uids = {}
    for f in files:
        try:
            d = json.load(open(f))
        except ValueError as e:
            bad(f, f"not valid JSON: {e}")
            continue
        if d.get("schemaVersion") != CURRENT_SCHEMA_VERSION:
            bad(f, f"schemaVersion {d.get('schemaVersion')}, expected {CURRENT_SCHEMA_VERSION}")
        uid = d.get("uid")
        if not uid:
            bad(f, "no dashboard uid")
        elif uid in seen_uids:
            bad(f, f"dashboard uid {uid} also used by {seen_uids[uid]}")
        seen_uids[uid] = os.path.basename(f)
        variables = {v["name"] for v in d.get("templating", {}).get("list", [])}
        if "node" not in variables:
            bad(f, "no `node` template variable")
        for v in d.get("templating", {}).get("list", []):
            if v.get("type") == "query" and (v.get("datasource") or {}).get("uid") not in uids:
                bad(f, f"variable {v['name']}: datasource {v.get('datasource')} is not a provisioned uid {sorted(uids)}")
        panels, stack = [], list(d.get("panels", []))
        while stack:
            p = stack.pop(0)
            panels.append(p)
            stack.extend(p.get("panels", []))
        ids = [p.get("id") for p in panels]
        for i in set(ids):
            if i is None or ids.count(i) > 1:
                bad(f, f"panel id {i} is missing or used {ids.count(i)} times")
        for p in panels:
            if p.get("type") == "row":
                continue
            where = f"panel {p.get('id')} {p.get('title')!r}"
            if (p.get("datasource") or {}).get("uid") not in uids:
                bad(f, f"{where}: datasource {p.get('datasource')} is not a provisioned uid {sorted(uids)}")
            targets = p.get("targets") or []
            if not targets:
                bad(f, f"{where}: no query")
            refs = [t.get("refId") for t in targets]
            if len(set(refs)) != len(refs):
                bad(f, f"{where}: duplicate refIds {refs}")
            for t in targets:
                if (t.get("datasource") or {}).get("uid") not in uids:
                    bad(f, f"{where} {t.get('refId')}: datasource {t.get('datasource')} is not a provisioned uid")
                expr = t.get("expr", "")
                if not expr.strip():
                    bad(f, f"{where} {t.get('refId')}: empty expr")
                for name in re.findall(r'\$\{?([A-Za-z_]\w*)', expr):
                    if name not in variables and name not in GRAFANA_BUILTIN_VARS:
                        bad(f, f"{where}: ${name} is not a template variable")
        m = HARDCODED.search(json.dumps(d))
        if m:
            bad(f, f"hard-coded instance name {m.group(0)!r}")
    return len(files)

def anchor(heading):
    # GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes.
    return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')

def check_rules():
    rules_file = os.path.join(ROOT, "prometheus/rules/bgpmesh.rules.yml")
    tests_file = os.path.join(ROOT, "prometheus/rules/bgpmesh.rules.test.yml")
    runbook = os.path.join(ROOT, "docs/runbook.md")
    anchors = {anchor(l[3:]) for l in open(runbook) if l.startswith("## ")}
    alerts = [r for g in yaml.safe_load(open(rules_file))["groups"] for r in g["rules"] if "alert" in r]
    tests = yaml.safe_load(open(tests_file))
    firing, quiet = {}, set()
    for t in tests["tests"]:
        for c in t.get("alert_rule_test", []):
            if c.get("exp_alerts"):
                firing.setdefault(c["alertname"], []).extend(c["exp_alerts"])
            else:
                quiet.add(c["alertname"])
    names = [a["alert"] for a in alerts]
    for n in set(names):
        if names.count(n) > 1:
            bad(rules_file, f"alert {n} defined {names.count(n)} times")
    for a in alerts:
        n = a["alert"]
        labels, ann = a.get("labels", {}), a.get("annotations", {})
        for l in ("severity", "component"):
            if not labels.get(l):
                bad(rules_file, f"{n}: no `{l}` label")
        if labels.get("severity") not in ("critical", "warning", "info"):
            bad(rules_file, f"{n}: severity {labels.get('severity')!r} is not critical, warning or info")
        for k in ("summary", "description", "runbook"):
            if not ann.get(k):
                bad(rules_file, f"{n}: no `{k}` annotation")
        rb = ann.get("runbook", "")
        if not rb.startswith("docs/runbook.md#") or rb.split("#", 1)[1] not in anchors:
            bad(rules_file, f"{n}: runbook {rb!r} is no section of docs/runbook.md")
        if n not in firing:
            bad(tests_file, f"{n}: no test where it fires")
        elif not all("node" in (e.get("exp_labels") or {}) for e in firing[n]):
            bad(tests_file, f"{n}: fires without a `node` label")
        if n not in quiet:
            bad(tests_file, f"{n}: no test where it stays quiet")
    for n in set(firing) | quiet:
        if n not in names:
            bad(tests_file, f"tests an alert {n} that the rules do not define")
    return len(alerts)

if __name__ == "__main__":
    nd = check_dashboards()
    na = check_rules()
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"check-monitoring: {len(problems)} problem(s)", file=sys.stderr)
        sys.exit(1)
    print(f"check-monitoring: {nd} dashboards and {na} alerts pass")
