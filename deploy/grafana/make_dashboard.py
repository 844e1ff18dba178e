#!/usr/bin/env python3
"""Writes kvstore.json, the Grafana dashboard of a kvstore cluster, from the panel list below.

   python3 deploy/grafana/make_dashboard.py > deploy/grafana/kvstore.json

Edit the panels here and regenerate; tests/deploy/check_dashboard.py checks that every metric
the dashboard queries is one a node exports."""
import json

# Every query joins kv_node_info for the node's id (and role, mode) and the cluster filter.
NODE = 'on(instance) group_left(node_id) kv_node_info{cluster_id=~"$cluster"}'
RATE = "$__rate_interval"
READS = 'method=~"Get|BatchGet|List|http_get"'


def ts(title, targets, unit="short", desc="", w=12, h=8, stack=False, max_=None):
    fc = {"unit": unit, "custom": {"fillOpacity": 10 if not stack else 60,
                                   "stacking": {"mode": "normal" if stack else "none"}}}
    if max_ is not None:
        fc["max"] = max_
    return {"type": "timeseries", "title": title, "description": desc,
            "gridPos": {"w": w, "h": h},
            "fieldConfig": {"defaults": fc, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "bottom",
                                   "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}},
            "targets": [{"expr": e, "legendFormat": l} for e, l in targets]}


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"w": 24, "h": 1},
            "panels": []}


def stat(title, expr, legend, unit="short", desc="", w=6, h=4, thresholds=None, mappings=None):
    steps = thresholds or [{"color": "green", "value": None}]
    return {"type": "stat", "title": title, "description": desc, "gridPos": {"w": w, "h": h},
            "fieldConfig": {"defaults": {"unit": unit, "mappings": mappings or [],
                                         "thresholds": {"mode": "absolute", "steps": steps}},
                            "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background",
                        "textMode": "value_and_name"},
            "targets": [{"expr": expr, "legendFormat": legend}]}


panels = [
    row("Cluster"),
    stat("Nodes ready", f"kv_ready * {NODE}", "{{node_id}}",
         desc="1 when /readyz answers 200: an edge is bootstrapped and within its staleness bound.",
         w=12, mappings=[{"type": "value", "options": {"0": {"text": "not ready", "color": "red"},
                                                       "1": {"text": "ready", "color": "green"}}}],
         thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}]),
    stat("Head version", f'max(kv_head_version * on(instance) group_left() kv_node_info{{cluster_id=~"$cluster",role="central"}})',
         "central", desc="Last committed version at the central node."),
    stat("Build", f"count by (version) (kv_build_info * on(instance) group_left() kv_node_info{{cluster_id=~\"$cluster\"}})",
         "{{version}}", desc="Nodes per build: more than one during an upgrade."),

    row("Writes (central node)"),
    ts("Writes by outcome", [
        (f'sum by (method, code) (rate(kv_requests_total{{method=~"Put|Delete|Commit"}}[{RATE}]) * on(instance) group_left() kv_node_info{{cluster_id=~"$cluster",role="central"}})',
         "{{method}} {{code}}")], unit="reqps",
       desc="Writes committed or refused at the central node (edges forward theirs to it)."),
    ts("Group commit", [
        (f'histogram_quantile(0.99, sum by (le) (rate(kv_group_commit_duration_seconds_bucket[{RATE}]) * on(instance) group_left() kv_node_info{{cluster_id=~"$cluster",role="central"}}))',
         "p99 commit (write + fsync)"),
        (f'histogram_quantile(0.5, sum by (le) (rate(kv_group_commit_duration_seconds_bucket[{RATE}]) * on(instance) group_left() kv_node_info{{cluster_id=~"$cluster",role="central"}}))',
         "p50 commit")], unit="s", w=6,
       desc="The write and fsync latency every write pays."),
    ts("Writes per group commit", [
        (f'sum(rate(kv_group_commit_batch_size_sum[{RATE}]) * on(instance) group_left() kv_node_info{{cluster_id=~"$cluster",role="central"}}) / sum(rate(kv_group_commit_batch_size_count[{RATE}]) * on(instance) group_left() kv_node_info{{cluster_id=~"$cluster",role="central"}})',
         "average")], w=6, desc="How many writes share one commit (and its fsync)."),

    row("Reads"),
    ts("Reads by source", [
        (f'sum(rate(kv_requests_total{{{READS}}}[{RATE}]) * on(instance) group_left() kv_node_info{{cluster_id=~"$cluster",role="central"}})',
         "central node"),
        (f'sum(rate(kv_requests_total{{{READS}}}[{RATE}]) * on(instance) group_left() kv_node_info{{cluster_id=~"$cluster",role="edge",mode="full"}})',
         "full edges"),
        (f'sum(rate(kv_cache_hits_total[{RATE}]) * {NODE})', "cache edges: cache hits"),
        (f'sum(rate(kv_cache_upstream_fetches_total[{RATE}]) * {NODE})',
         "cache edges: read through upstream"),
        (f'sum(rate(kv_cache_coalesced_waits_total[{RATE}]) * {NODE})',
         "cache edges: joined a fetch in flight")],
       unit="reqps", stack=True,
       desc="Where reads are answered: gRPC Get/BatchGet/List and HTTP GET at full nodes, "
            "and at cache edges from the cache or through the upstream."),
    ts("Reads per node", [
        (f'sum by (node_id, method) (rate(kv_requests_total{{{READS}}}[{RATE}]) * {NODE})',
         "{{node_id}} {{method}}")], unit="reqps"),
    ts("Read errors", [
        (f'sum by (node_id, code) (rate(kv_requests_total{{{READS},code!~"OK|NOT_FOUND"}}[{RATE}]) * {NODE})',
         "{{node_id}} {{code}}")], unit="reqps",
       desc="UNAVAILABLE: an edge beyond its bound whose upstream is unreachable."),
    ts("Read latency p99", [
        (f'histogram_quantile(0.99, sum by (le, node_id) (rate(kv_request_duration_seconds_bucket{{{READS}}}[{RATE}]) * {NODE}))',
         "{{node_id}}")], unit="s"),

    row("Replication"),
    ts("Staleness per edge", [
        (f'kv_staleness_seconds * on(instance) group_left(node_id) kv_node_info{{cluster_id=~"$cluster",role="edge"}}',
         "{{node_id}}"),
        (f'max(kv_max_staleness_seconds * on(instance) group_left() kv_node_info{{cluster_id=~"$cluster"}})',
         "bound (--max-staleness)")], unit="s",
       desc="How far behind the central node each edge may be. Above the bound the edge forwards "
            "reads and is not ready."),
    ts("Replication lag per downstream (time)", [
        (f'kv_downstream_lag_seconds * {NODE}', "{{node_id}} -> {{downstream}}")], unit="s",
       desc="Age of the oldest change each downstream has not acknowledged, at its upstream."),
    ts("Replication lag per downstream (versions)", [
        (f'kv_downstream_lag_versions * {NODE}', "{{node_id}} -> {{downstream}}")]),
    ts("Replication events", [
        (f'sum by (node_id) (increase(kv_replication_snapshots_total[{RATE}]) * {NODE})', "{{node_id}} snapshots"),
        (f'sum by (node_id) (increase(kv_replication_resets_total[{RATE}]) * {NODE})', "{{node_id}} resets"),
        (f'sum by (node_id) (increase(kv_replication_reconnects_total[{RATE}]) * {NODE})', "{{node_id}} reconnects")],
       desc="Snapshots or RESETs outside planned work: the upstream's log retention is too short "
            "for the edges' outages."),
    ts("Changes applied per edge", [
        (f'sum by (node_id) (rate(kv_replication_changes_applied_total[{RATE}]) * {NODE})', "{{node_id}}")],
       unit="ops"),

    row("Cache edges"),
    ts("Cache hit ratio", [
        (f'sum by (node_id) (rate(kv_cache_hits_total[{RATE}]) * {NODE}) / (sum by (node_id) (rate(kv_cache_hits_total[{RATE}]) * {NODE}) + sum by (node_id) (rate(kv_cache_misses_total[{RATE}]) * {NODE}))',
         "{{node_id}}")], unit="percentunit", max_=1),
    ts("Cache memory", [
        (f'kv_cache_bytes * {NODE}', "{{node_id}} used"),
        (f'kv_cache_bytes_limit * {NODE}', "{{node_id}} limit (--cache-bytes)")], unit="bytes"),
    ts("Cache evictions and rejections", [
        (f'sum by (node_id) (rate(kv_cache_evictions_total[{RATE}]) * {NODE})', "{{node_id}} evictions"),
        (f'sum by (node_id) (rate(kv_cache_rejections_total[{RATE}]) * {NODE})', "{{node_id}} admission rejections")],
       unit="ops"),

    row("Security and resources"),
    ts("Auth refusals", [
        (f'sum by (node_id, reason) (rate(kv_auth_denied_total[{RATE}]) * {NODE})',
         "{{node_id}} {{reason}}")], unit="reqps",
       desc="Calls refused by token or scope checks (docs/security.md, Refusals)."),
    ts("TLS certificate expiry", [
        (f'kv_tls_cert_expiry_seconds * {NODE}', "{{node_id}}")], unit="s",
       desc="Renew below 14 days. kv_tls_reload_failing = 1: a new certificate was refused."),
    ts("Free disk under the data directory", [
        (f'kv_disk_free_bytes * {NODE}', "{{node_id}} free"),
        (f'kv_disk_min_free_bytes * {NODE}', "{{node_id}} reserve (--min-free-disk)")], unit="bytes",
       desc="Writes are refused while free space is below the reserve."),
    ts("Connections", [
        (f'kv_grpc_connections * {NODE}', "{{node_id}} gRPC"),
        (f'kv_http_connections_open * {NODE}', "{{node_id}} HTTP")]),
]

# Lay the panels out left to right, rows of 24 columns.
x = y = 0
line_h = 0
for i, p in enumerate(panels, start=1):
    p["id"] = i
    p["datasource"] = {"type": "prometheus", "uid": "${datasource}"}
    for j, t in enumerate(p.get("targets", [])):
        t["refId"] = chr(ord("A") + j)
        t["datasource"] = {"type": "prometheus", "uid": "${datasource}"}
    g = p["gridPos"]
    if p["type"] == "row" or x + g["w"] > 24:
        x, y, line_h = 0, y + line_h, 0
    g["x"], g["y"] = x, y
    x += g["w"]
    line_h = max(line_h, g["h"])
    if p["type"] == "row":
        x, y, line_h = 0, y + 1, 0

dashboard = {
    "title": "kvstore",
    "uid": "kvstore-overview",
    "description": "A kvstore cluster from the nodes' /metrics: writes, reads by source, "
                   "staleness, replication lag, cache, auth refusals (docs/operations.md).",
    "tags": ["kvstore"],
    "timezone": "utc",
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "refresh": "30s",
    "time": {"from": "now-6h", "to": "now"},
    "annotations": {"list": []},
    "links": [],
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "current": {}, "hide": 0},
        {"name": "cluster", "label": "Cluster id", "type": "query",
         "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "definition": "label_values(kv_node_info, cluster_id)",
         "query": {"query": "label_values(kv_node_info, cluster_id)", "refId": "cluster"},
         "includeAll": True, "allValue": ".*", "multi": False, "refresh": 2, "current": {},
         "hide": 0},
    ]},
    "panels": panels,
}
print(json.dumps(dashboard, indent=2))
