"""Builds the Grafana dashboards in deploy/grafana/dashboards/ from plain Python dicts.

    python deploy/grafana/build_dashboards.py           # rewrite the JSON files
    python deploy/grafana/build_dashboards.py --check   # exit 1 when a committed file differs

The JSON is committed and provisioned into Grafana as is (deploy/grafana/provisioning/dashboards); edit
this file, never the JSON. Every panel, target, variable and annotation points at the provisioned
Prometheus datasource (uid ``prometheus``). Metric names come from pipeline/metrics.py (job "pipeline"),
replay/metrics.py (job "replay") and the recording rules in
deploy/prometheus/rules/pipeline.yml; tests/deploy/test_dashboards_json.py checks each one exists and
tests/integration/test_dashboards.py runs every query against a real Prometheus scraping a real stack.
Standard library only, so it runs with any Python 3.11.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards"

DATASOURCE_UID = "prometheus"  # deploy/grafana/provisioning/datasources/prometheus.yml
DS = {"type": "prometheus", "uid": DATASOURCE_UID}
SCHEMA_VERSION = 39
TAG = "iran2009"
RATE = "$__rate_interval"

Panel = dict[str, Any]


# --- targets -------------------------------------------------------------------------------------------


def q(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> dict[str, Any]:
    """One Prometheus query; refIds are given in order by the panel."""
    return {
        "datasource": DS,
        "refId": "",
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not (instant or table),
        "instant": instant or table,
        "format": "table" if table else "time_series",
        "editorMode": "code",
    }


# --- panels --------------------------------------------------------------------------------------------


def _panel(
    kind: str,
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    *,
    w: int,
    h: int,
    defaults: dict[str, Any],
    options: dict[str, Any],
    overrides: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> Panel:
    for index, target in enumerate(targets):
        target["refId"] = chr(ord("A") + index)
    panel: Panel = {
        "id": 0,  # numbered by layout()
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"h": h, "w": w, "x": 0, "y": 0},
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options,
        "targets": targets,
    }
    panel.update(extra or {})
    return panel


def _thresholds(*steps: tuple[str, float | None]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for color, value in steps]}


GREEN_ONLY = _thresholds(("green", None))


def mapping(*values: tuple[int | str, str, str]) -> list[dict[str, Any]]:
    """Value mappings: (value, text, colour)."""
    return [
        {
            "type": "value",
            "options": {
                str(value): {"text": text, "color": color, "index": index}
                for index, (value, text, color) in enumerate(values)
            },
        }
    ]


def dashed(regex: str) -> dict[str, Any]:
    """Series whose display name matches ``regex`` drawn dashed (the expectations)."""
    return {
        "matcher": {"id": "byRegexp", "options": regex},
        "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}],
    }


def colour(name: str, color: str) -> dict[str, Any]:
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
    }


def timeseries(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    *,
    unit: str = "short",
    axis: str = "",
    w: int = 12,
    h: int = 8,
    stack: bool = False,
    bars: bool = False,
    stepped: bool = False,
    minimum: float | None = 0,
    threshold: float | None = None,
    overrides: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> Panel:
    custom = {
        "axisLabel": axis,
        "axisPlacement": "auto",
        "drawStyle": "bars" if bars else "line",
        "lineInterpolation": "stepAfter" if stepped else "linear",
        "lineWidth": 1,
        "fillOpacity": 60 if bars else (25 if stack else 10),
        "gradientMode": "none",
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "thresholdsStyle": {"mode": "off" if threshold is None else "line+area"},
    }
    defaults: dict[str, Any] = {
        "unit": unit,
        "color": {"mode": "palette-classic"},
        "custom": custom,
        "thresholds": GREEN_ONLY
        if threshold is None
        else _thresholds(("transparent", None), ("red", threshold)),
    }
    if minimum is not None:
        defaults["min"] = minimum
    options = {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return _panel(
        "timeseries",
        title,
        description,
        targets,
        w=w,
        h=h,
        defaults=defaults,
        options=options,
        overrides=overrides,
        extra=extra,
    )


def stat(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    *,
    unit: str = "short",
    w: int = 6,
    h: int = 4,
    thresholds: dict[str, Any] | None = None,
    mappings: list[dict[str, Any]] | None = None,
    graph: bool = False,
    decimals: int | None = None,
) -> Panel:
    defaults: dict[str, Any] = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "mappings": mappings or [],
        "thresholds": thresholds or GREEN_ONLY,
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
        "graphMode": "area" if graph else "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "textMode": "value_and_name",
    }
    return _panel("stat", title, description, targets, w=w, h=h, defaults=defaults, options=options)


def bargauge(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    *,
    unit: str = "short",
    w: int = 8,
    h: int = 8,
    maximum: float | None = None,
    thresholds: dict[str, Any] | None = None,
) -> Panel:
    defaults: dict[str, Any] = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "min": 0,
        "thresholds": thresholds or _thresholds(("blue", None)),
    }
    if maximum is not None:
        defaults["max"] = maximum
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "orientation": "horizontal",
        "displayMode": "gradient",
        "valueMode": "color",
        "showUnfilled": True,
        "namePlacement": "auto",
        "sizing": "auto",
    }
    return _panel("bargauge", title, description, targets, w=w, h=h, defaults=defaults, options=options)


def state_timeline(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    *,
    mappings: list[dict[str, Any]],
    w: int = 12,
    h: int = 8,
) -> Panel:
    defaults = {
        "color": {"mode": "thresholds"},
        "custom": {"fillOpacity": 70, "lineWidth": 0},
        "mappings": mappings,
        "thresholds": GREEN_ONLY,
    }
    options = {
        "mergeValues": True,
        "showValue": "never",
        "alignValue": "left",
        "rowHeight": 0.9,
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return _panel("state-timeline", title, description, targets, w=w, h=h, defaults=defaults, options=options)


def table(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    *,
    columns: dict[str, str],
    hide: tuple[str, ...] = ("Time", "__name__", "job", "stack", "instance"),
    sort_by: str | None = None,
    w: int = 12,
    h: int = 8,
) -> Panel:
    """Instant table queries merged into one table; ``columns`` renames "Value #A"... to headers."""
    defaults = {"color": {"mode": "thresholds"}, "custom": {"align": "auto"}, "thresholds": GREEN_ONLY}
    options: dict[str, Any] = {"showHeader": True, "cellHeight": "sm"}
    if sort_by:
        options["sortBy"] = [{"displayName": sort_by, "desc": True}]
    panel = _panel("table", title, description, targets, w=w, h=h, defaults=defaults, options=options)
    panel["transformations"] = [
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {"excludeByName": {name: True for name in hide}, "renameByName": columns},
        },
    ]
    return panel


def row(title: str) -> Panel:
    return {
        "id": 0,
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0},
        "panels": [],
    }


def layout(panels: list[Panel]) -> list[Panel]:
    """Numbers the panels and flows them left to right on Grafana's 24-column grid."""
    x = y = line_height = 0
    for number, panel in enumerate(panels, start=1):
        panel["id"] = number
        grid = panel["gridPos"]
        if panel["type"] == "row" or x + grid["w"] > 24:
            x, y, line_height = 0, y + line_height, 0
        grid["x"], grid["y"] = x, y
        x += grid["w"]
        line_height = max(line_height, grid["h"])
        if panel["type"] == "row":
            x, y, line_height = 0, y + 1, 0
    return panels


# --- variables and annotations -------------------------------------------------------------------------


def variable(name: str, label: str, query: str, description: str) -> dict[str, Any]:
    """A multi-value query variable with All (= the regex .*), for ``label=~"$name"`` matchers."""
    return {
        "name": name,
        "label": label,
        "description": description,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": query,
        "refresh": 2,  # on time range change: new regions and terms appear without a reload
        "regex": "",
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
    }


REGION = variable(
    "region",
    "Region",
    "label_values(pipeline_window_posts, region)",
    "Regions the detector has seen (ISO 3166 alpha-2, 'unknown' when the post had none).",
)
TERM = variable(
    "term",
    "Watchlist term",
    'label_values(pipeline_watchlist_observed{region=~"$region"}, term)',
    "Watchlist concepts (pipeline/data/watchlist.json) under their canonical keys.",
)

BUILT_IN_ANNOTATIONS = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


def annotation(
    name: str, expr: str, color: str, *, title: str, text: str = "", tags: str = ""
) -> dict[str, Any]:
    """A Prometheus annotation: one mark for each step where ``expr`` returns something."""
    return {
        "name": name,
        "datasource": DS,
        "enable": True,
        "hide": False,
        "iconColor": color,
        "expr": expr,
        "step": "15s",
        "titleFormat": title,
        "textFormat": text,
        "tagKeys": tags,
        "useValueForTime": False,
    }


def new_alerts(alert_type: str) -> str:
    return f'sum(increase(pipeline_alerts_total{{type="{alert_type}"}}[1m])) > 0'


FILTERING_ANNOTATION = annotation(
    "Filtering alerts",
    new_alerts("filtering"),
    "orange",
    title="Keyword filtering alert",
    text="New filtering alert records (onset or end) in the minute before; see the alerts topic",
    tags="type",
)


def outages(selector: str = "") -> dict[str, Any]:
    # Over the step (15 s): an outage replayed at 600x lasts seconds and must not fall between steps.
    return annotation(
        "Region outages",
        f"max by (region) (max_over_time(pipeline_region_outage{selector}[15s])) == 1",
        "red",
        title="Outage in {{region}}",
        text="The region's volume collapsed against the control",
        tags="region",
    )


SUPPRESSED_ANNOTATION = annotation(
    "Suppressed watchlist terms",
    'ALERTS{alertname="WatchlistTermSuppressed", alertstate="firing", region=~"$region", term=~"$term"}',
    "yellow",
    title="'{{term}}' suppressed in {{region}}",
    text="Prometheus rule WatchlistTermSuppressed is firing",
    tags="term,region",
)
SURGE_ANNOTATION = annotation(
    "Surge alerts",
    new_alerts("surge"),
    "purple",
    title="Surge alert",
    text="New surge alert records (onset or end) in the minute before; see the alerts topic",
    tags="type",
)


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[Panel],
    *,
    variables: Sequence[dict[str, Any]] = (),
    annotations: Sequence[dict[str, Any]] = (),
    time_from: str = "now-30m",
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": [TAG],
        "editable": False,
        "graphTooltip": 1,  # shared crosshair
        "timezone": "utc",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "10s",
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "links": [
            {
                "type": "dashboards",
                "title": "Iran 2009",
                "tags": [TAG],
                "asDropdown": False,
                "includeVars": False,
                "keepTime": True,
                "targetBlank": False,
                "icon": "external link",
                "tooltip": "",
                "url": "",
            }
        ],
        "annotations": {"list": [BUILT_IN_ANNOTATIONS, *annotations]},
        "templating": {"list": list(variables)},
        "panels": layout(panels),
    }


# --- the dashboards ------------------------------------------------------------------------------------

PRIORITY_COLOURS = [
    colour("critical", "red"),
    colour("high", "orange"),
    colour("medium", "yellow"),
    colour("low", "blue"),
]
UP_DOWN = mapping((0, "disconnected", "red"), (1, "connected", "green"))


def quantile(q_: float, bucket: str) -> str:
    return f"histogram_quantile({q_}, sum by (le) (rate({bucket}[{RATE}])))"


def pipeline_overview() -> dict[str, Any]:
    panels = [
        row("Throughput"),
        timeseries(
            "Posts in and out",
            "Is the pipeline keeping up? Posts/s acknowledged by Kafka from the replayer, consumed (valid) "
            "and published (classified) by the workers, and dead-lettered. In and out should overlap.",
            [
                q(f"sum(rate(replay_posts_acknowledged_total[{RATE}]))", "replayed (acknowledged)"),
                q(f"sum(rate(pipeline_posts_consumed_total[{RATE}]))", "consumed (valid)"),
                q(f"sum(rate(pipeline_posts_published_total[{RATE}]))", "published (classified)"),
                q(f"sum(rate(pipeline_posts_invalid_total[{RATE}]))", "dead-lettered"),
            ],
            axis="posts/s",
            w=12,
            overrides=[colour("dead-lettered", "red")],
        ),
        timeseries(
            "Consumer lag by topic/partition",
            "How far behind is each consumer? Records between a partition's end offset and the offset the "
            "worker group committed (pipeline_consumer_lag_records), per topic and partition.",
            [q("max by (topic, partition) (pipeline_consumer_lag_records)", "{{topic}} [{{partition}}]")],
            axis="records",
            w=12,
        ),
        timeseries(
            "Processing latency",
            "How long does a post spend in the worker? p50 and p99 from a record's arrival to its "
            "classified post being handed to Kafka, and the recorded 5-minute p99.",
            [
                q(quantile(0.5, "pipeline_processing_latency_seconds_bucket"), "p50"),
                q(quantile(0.99, "pipeline_processing_latency_seconds_bucket"), "p99"),
                q("pipeline:processing_latency_seconds:p99_5m", "p99 over 5m (recorded)"),
            ],
            unit="s",
            w=12,
            overrides=[dashed(".*recorded.*")],
        ),
        stat(
            "Posts since the workers started",
            "How much has gone through, and how much went wrong? Totals over the running workers: valid "
            "posts consumed, posts published, records dead-lettered, posts behind the watermark, repeats.",
            [
                q("sum(pipeline_posts_consumed_total)", "consumed"),
                q("sum(pipeline_posts_published_total)", "published"),
                q("sum(pipeline_posts_invalid_total)", "dead letters"),
                q("sum(pipeline_late_posts_total)", "late"),
                q("sum(pipeline_duplicates_total)", "duplicates"),
            ],
            w=12,
            h=8,
        ),
        row("Data quality"),
        timeseries(
            "Dead letters by reason",
            "Which contract violations arrive, and how often? Records/s sent to the dead-letter topic, by "
            "reason (the error.reason header).",
            [q(f"sum by (reason) (rate(pipeline_posts_invalid_total[{RATE}]))", "{{reason}}")],
            axis="records/s",
            w=8,
        ),
        timeseries(
            "Late posts",
            "Are posts arriving behind the event-time watermark? Posts/s counted as late instead of being "
            "windowed (alert LatePostsRising above 100 in 10 minutes).",
            [q(f"sum(rate(pipeline_late_posts_total[{RATE}]))", "late posts")],
            axis="posts/s",
            w=8,
        ),
        timeseries(
            "Duplicates by kind",
            "Are records read twice? Repeats recognized and not counted again: redelivered after a "
            "restart or rebalance, or the same post id again.",
            [q(f"sum by (kind) (rate(pipeline_duplicates_total[{RATE}]))", "{{kind}}")],
            axis="records/s",
            w=8,
        ),
        row("Workers and Kafka"),
        stat(
            "Workers up / healthy",
            "Are the workers alive and well? Scrape targets of job pipeline, those answering, and those "
            "whose /health is 200 (broker reachable, nothing stalled).",
            [
                q('count(up{job="pipeline"})', "targets"),
                q('sum(up{job="pipeline"})', "up"),
                q("sum(pipeline_healthy)", "healthy"),
            ],
            w=6,
            h=6,
        ),
        state_timeline(
            "Broker connection per worker",
            "Can each worker reach Kafka? 1 when the worker's last probe of the broker answered.",
            [q("max by (instance) (pipeline_broker_connected)", "{{instance}}")],
            mappings=UP_DOWN,
            w=9,
            h=6,
        ),
        stat(
            "Stalled partitions",
            "Is a consumer stuck? Partitions with records waiting whose position has not moved for "
            "STALL_SECONDS (0 is good).",
            [q("sum(pipeline_consumer_stalled)", "stalled")],
            w=3,
            h=6,
            thresholds=_thresholds(("green", None), ("red", 1)),
        ),
        timeseries(
            "Assigned partitions per worker",
            "How is the work spread? Partitions assigned to each worker, by topic; steps are rebalances.",
            [q("sum by (instance, topic) (pipeline_assigned_partitions)", "{{instance}} {{topic}}")],
            axis="partitions",
            w=6,
            h=6,
            stepped=True,
        ),
        table(
            "Offsets per partition",
            "Where does each assigned partition stand? End offset, committed offset, lag and stall flag, "
            "per topic and partition, now.",
            [
                q("max by (topic, partition) (pipeline_consumer_end_offset)", table=True),
                q("max by (topic, partition) (pipeline_consumer_committed_offset)", table=True),
                q("max by (topic, partition) (pipeline_consumer_lag_records)", table=True),
                q("max by (topic, partition) (pipeline_consumer_stalled)", table=True),
                q("max by (topic, partition) (pipeline_consumer_held_records)", table=True),
            ],
            columns={
                "Value #A": "end offset",
                "Value #B": "committed",
                "Value #C": "lag",
                "Value #D": "stalled",
                "Value #E": "held for a snapshot",
            },
            sort_by="lag",
            w=24,
            h=7,
        ),
        row("Detect stage"),
        timeseries(
            "Detect records",
            "Is the detect stage keeping every record? Detect-topic records per second by what the stage "
            "did with them: folded into the detector, reread (already in its state, after a restore), bad "
            "(not a detect record) and lost (gone from the broker when a hole was read again: should be 0), "
            "and holes in the offsets it read again.",
            [
                q(f"sum by (outcome) (rate(pipeline_detect_records_total[{RATE}]))", "{{outcome}}"),
                q(f"sum(rate(pipeline_detect_gaps_total[{RATE}]))", "holes read again"),
            ],
            axis="records/s",
            w=8,
        ),
        timeseries(
            "Detection CPU",
            "How much of a core does detection take, and where? CPU seconds per second the detect loops "
            "spend detecting (folding records, encoding snapshots; not Kafka I/O), by role: the one "
            "detector, the shards, the merge. One loop near 1 is a funnel: that is when DETECT_PARTITIONS "
            "should grow. Beside them, the garbage collector in the workers' event loops (part of the "
            "roles' figures where it ran during detection): what the objects detection keeps cost.",
            [
                q(f"sum by (role) (rate(pipeline_detect_cpu_seconds_total[{RATE}]))", "{{role}}"),
                q(f"sum(rate(pipeline_gc_seconds_total[{RATE}]))", "garbage collector"),
            ],
            axis="cores",
            w=5,
        ),
        timeseries(
            "Detector snapshot size",
            "How big is detection's state? Size of the last snapshot, saved as chunks of at most 512 KiB "
            "(it grows with the windows open ahead of the watermark, which event-time alignment bounds).",
            [q("max(pipeline_detect_snapshot_bytes)", "snapshot")],
            unit="bytes",
            w=5,
        ),
        stat(
            "Detect partition",
            "Who holds detection? Workers holding the partition that raises the alerts now (the detect "
            "partition, or the merge's with DETECT_PARTITIONS above 1: 1 when a worker runs), the "
            "detection shards held (0 with one detector), take-overs from a saved snapshot since the "
            "workers started, how long the last one took, and p99 of the time to save a snapshot (alerts "
            "flushed first), in seconds.",
            [
                q("sum(pipeline_detect_owner)", "owners"),
                q("sum(pipeline_detect_shards)", "shards held"),
                q("sum(pipeline_detect_restores_total)", "take-overs"),
                q("max(pipeline_detect_restore_seconds)", "last take-over (s)"),
                q(quantile(0.99, "pipeline_detect_snapshot_seconds_bucket"), "p99 save (s)"),
            ],
            w=6,
            h=8,
        ),
        row("Event time and detection"),
        timeseries(
            "Event-time progress",
            "How far has the stream got in 2009? Event time of the post the replayer is sending, of the "
            "newest post seen by the workers, and detection's watermark (each once it is known).",
            [
                q("max(replay_event_time_seconds > 0) * 1000", "replayer"),
                q("max(pipeline_event_time_seconds > 0) * 1000", "newest post"),
                q("max(pipeline_watermark_seconds > 0) * 1000", "watermark"),
            ],
            unit="dateTimeAsIso",
            minimum=None,
            w=9,
        ),
        timeseries(
            "Watermark behind the newest post",
            "How much event time is still open? Newest post's event time minus the watermark: the allowed "
            "lateness plus the partition that is furthest behind.",
            [
                q(
                    "max(pipeline_event_time_seconds) - max(pipeline_watermark_seconds > 0)",
                    "event time - watermark",
                )
            ],
            unit="s",
            w=5,
        ),
        stat(
            "Watermark lag (wall clock)",
            "How old is the newest closed window? Wall clock minus the watermark: seconds when live, years "
            "when replaying 2009.",
            [q("max(pipeline_watermark_lag_seconds > 0)", "lag")],
            unit="s",
            w=4,
            h=8,
        ),
        stat(
            "Alerts raised, by type",
            "What has detection raised? Filtering, outage and surge alert records (onsets and ends) since "
            "the workers started.",
            [q("sum by (type) (pipeline_alerts_total)", "{{type}}")],
            w=3,
            h=8,
        ),
        stat(
            "Open episodes",
            "What is going on right now? Detection episodes raised and not yet ended, by type.",
            [q("sum by (type) (pipeline_active_episodes)", "{{type}}")],
            w=3,
            h=8,
        ),
        row("Replay"),
        timeseries(
            "Replay progress",
            "How far is the replay? Posts handed to the producer, acknowledged by the broker, failed for "
            "good, and planned in all (loops included).",
            [
                q("sum(replay_posts_sent_total)", "sent"),
                q("sum(replay_posts_acknowledged_total)", "acknowledged"),
                q("sum(replay_posts_failed_total)", "failed"),
                q("sum(replay_posts_planned)", "planned"),
            ],
            axis="posts",
            w=8,
            overrides=[dashed("planned"), colour("failed", "red")],
        ),
        bargauge(
            "Replay completion",
            "How much of the replay is done? Posts acknowledged over posts planned.",
            [q("sum(replay_posts_acknowledged_total) / sum(replay_posts_planned)", "acknowledged")],
            unit="percentunit",
            maximum=1,
            w=4,
        ),
        timeseries(
            "Replay behind schedule",
            "Is the replayer keeping its pace? How late the last post was sent against its schedule "
            "(alert ReplayFallingBehind above 5 s for 2 minutes).",
            [q("max(replay_behind_schedule_seconds)", "behind schedule")],
            unit="s",
            w=6,
            threshold=5,
        ),
        stat(
            "Replay speed",
            "How fast is event time replayed? The speed-up factor (600 = ten minutes a second); 0 is "
            "--speed max, unpaced.",
            [q("max(replay_speed_factor)", "speed")],
            w=3,
            h=8,
            mappings=mapping((0, "max", "purple")),
        ),
        stat(
            "Replay paused",
            "Is the replay paused (Ctrl-Z or kill -USR1)?",
            [q("max(replay_paused)", "paused")],
            w=3,
            h=8,
            mappings=mapping((0, "running", "green"), (1, "paused", "orange")),
        ),
    ]
    return dashboard(
        "pipeline-overview",
        "Pipeline overview",
        "Throughput, lag, latency, errors, workers, the detect stage, event time and replay progress.",
        panels,
        annotations=[FILTERING_ANNOTATION, outages(), SURGE_ANNOTATION],
    )


def classification() -> dict[str, Any]:
    consumed = 'pipeline_posts_consumed_total{region=~"$region"}'
    published = 'pipeline_posts_published_total{region=~"$region"}'
    panels = [
        row("Categories"),
        timeseries(
            "Posts by category",
            "What are people posting about? Posts/s per category over 5 minutes (recording rule; a post "
            "with several categories counts in each).",
            [q("sum by (category) (pipeline:posts_classified_by_category:rate5m)", "{{category}}")],
            axis="posts/s",
            w=9,
        ),
        timeseries(
            "Category share of posts",
            "Which categories grow or shrink relative to the whole? Posts/s per category over all valid "
            "posts/s (multi-label, so shares add up to more than 100%).",
            [
                q(
                    f"sum by (category) (rate(pipeline_posts_classified_total[{RATE}])) / "
                    f"scalar(sum(rate(pipeline_posts_consumed_total[{RATE}])))",
                    "{{category}}",
                )
            ],
            unit="percentunit",
            w=9,
        ),
        bargauge(
            "Categories in the time range",
            "Which categories dominate the selected time range? Posts per category.",
            [
                q(
                    "sort_desc(sum by (category) (increase(pipeline_posts_classified_total[$__range])))",
                    "{{category}}",
                    instant=True,
                )
            ],
            w=6,
        ),
        row("Priority and language"),
        timeseries(
            "Posts by priority",
            "How urgent is the stream? Posts/s by TREC-IS priority, stacked (critical: someone shot or "
            "needing a doctor now).",
            [q(f"sum by (priority) (rate(pipeline_posts_priority_total[{RATE}]))", "{{priority}}")],
            axis="posts/s",
            stack=True,
            w=10,
            overrides=PRIORITY_COLOURS,
        ),
        stat(
            "Critical and high share",
            "What fraction of posts needs attention? Critical plus high priority over all classified posts.",
            [
                q(
                    f'sum(rate(pipeline_posts_priority_total{{priority=~"critical|high"}}[{RATE}])) / '
                    f"sum(rate(pipeline_posts_priority_total[{RATE}]))",
                    "critical + high",
                )
            ],
            unit="percentunit",
            w=4,
            h=8,
            graph=True,
            thresholds=_thresholds(("green", None), ("orange", 0.2), ("red", 0.4)),
        ),
        timeseries(
            "Posts by language",
            "Who is talking? Classified posts/s by language: en, fa (Arabic script), fa-Latn (Finglish), "
            "other; stacked.",
            [q(f"sum by (lang) (rate(pipeline_posts_lang_total[{RATE}]))", "{{lang}}")],
            axis="posts/s",
            stack=True,
            w=10,
        ),
        row("Regions and platforms ($region)"),
        timeseries(
            "Posts in by region",
            "Where do posts come from? Valid posts/s consumed per region, over 1 minute (recording rule).",
            [
                q(
                    'sum by (region) (pipeline:posts_consumed_by_region:rate1m{region=~"$region"})',
                    "{{region}}",
                )
            ],
            axis="posts/s",
            w=12,
        ),
        timeseries(
            "Posts in by platform",
            "Which platforms carry the posts of the selected regions? Valid posts/s consumed per platform.",
            [q(f"sum by (platform) (rate({consumed}[{RATE}]))", "{{platform}}")],
            axis="posts/s",
            stack=True,
            w=12,
        ),
        timeseries(
            "Posts out by language",
            "What leaves the pipeline, in which language? Classified posts/s published to the classified "
            "topic from the selected regions.",
            [q(f"sum by (lang) (rate({published}[{RATE}]))", "{{lang}}")],
            axis="posts/s",
            stack=True,
            w=8,
        ),
        table(
            "Posts in by platform and region",
            "How do regions use platforms? Valid posts consumed in the time range, per region and platform.",
            [q(f"sum by (region, platform) (increase({consumed}[$__range]))", table=True)],
            columns={"Value": "posts"},
            sort_by="posts",
            w=8,
        ),
        table(
            "Posts out by region and language",
            "Which languages does each region publish in? Classified posts published in the time range, "
            "per region and language.",
            [q(f"sum by (region, lang) (increase({published}[$__range]))", table=True)],
            columns={"Value": "posts"},
            sort_by="posts",
            w=8,
        ),
    ]
    return dashboard(
        "classification",
        "Classification",
        "Categories, priority and language of the classified posts; platform and region breakdowns.",
        panels,
        variables=[REGION],
    )


def censorship_watch() -> dict[str, Any]:
    watch = '{term=~"$term", region=~"$region"}'
    panels = [
        row("Regions ($region)"),
        state_timeline(
            "Outage state by region",
            "Has a region gone dark? 1 while the detector sees its whole volume collapse against the "
            "control (alert RegionOutage); filtering alerts are muted there until 15 minutes after. The "
            "worst state in each step, so a fast replay's short outage still shows.",
            [
                q(
                    f'max by (region) (max_over_time(pipeline_region_outage{{region=~"$region"}}[{RATE}]))',
                    "{{region}}",
                )
            ],
            mappings=mapping((0, "normal", "green"), (1, "outage", "red")),
            w=12,
        ),
        timeseries(
            "Window volume vs expected by region",
            "Is a region quieter than it should be? Posts in the last closed 5-minute window (solid) "
            "against what the region's baseline expected (dashed).",
            [
                q('sum by (region) (pipeline_window_posts{region=~"$region"})', "{{region}}"),
                q(
                    'sum by (region) (pipeline_window_expected_posts{region=~"$region"})',
                    "{{region}} expected",
                ),
            ],
            axis="posts per window",
            w=12,
            overrides=[dashed(".* expected")],
        ),
        stat(
            "Filtering and outage alerts",
            "How many filtering and outage alert records (onsets and ends) has detection raised since the "
            "workers started?",
            [q('sum by (type) (pipeline_alerts_total{type=~"filtering|outage"})', "{{type}}")],
            w=6,
            h=6,
        ),
        stat(
            "Open filtering and outage episodes",
            "Is a term being filtered or a region dark right now? Episodes raised and not yet ended.",
            [q('sum by (type) (pipeline_active_episodes{type=~"filtering|outage"})', "{{type}}")],
            w=6,
            h=6,
            thresholds=_thresholds(("green", None), ("red", 1)),
        ),
        state_timeline(
            "Censorship alert rules firing",
            "When did Prometheus' own rules fire? KeywordFilteringSuspected, WatchlistTermSuppressed and "
            "RegionOutage (deploy/prometheus/rules/pipeline.yml).",
            [
                q(
                    'max by (alertname) (ALERTS{alertstate="firing", '
                    'alertname=~"KeywordFilteringSuspected|WatchlistTermSuppressed|RegionOutage"})',
                    "{{alertname}}",
                )
            ],
            mappings=mapping((1, "firing", "red")),
            w=12,
            h=6,
        ),
        row("Watchlist ($term)"),
        timeseries(
            "Filtering suspicion",
            "Which terms look filtered where? -log10 of the count test's p-value per term and region; "
            "above 6 for 5 minutes fires WatchlistTermSuppressed (red band).",
            [q(f"max by (term, region) (pipeline_watchlist_suspicion{watch})", "{{term}} in {{region}}")],
            axis="-log10 p",
            w=12,
            threshold=6,
        ),
        bargauge(
            "Most suspicious now",
            "Which term and region pairs are the most suspicious in the last closed window?",
            [
                q(
                    f"topk(10, max by (term, region) (pipeline_watchlist_suspicion{watch}))",
                    "{{term}} in {{region}}",
                    instant=True,
                )
            ],
            w=12,
            thresholds=_thresholds(("green", None), ("orange", 3), ("red", 6)),
        ),
        timeseries(
            "$term: observed vs expected by region",
            "Is this term missing where it should be? Posts with the term in the last closed window, per "
            "region (solid), against what the control and the term's baseline predict (dashed).",
            [
                q(f"sum by (region) (pipeline_watchlist_observed{watch})", "{{region}}"),
                q(f"sum by (region) (pipeline_watchlist_expected{watch})", "{{region}} expected"),
            ],
            axis="posts per window",
            w=8,
            overrides=[dashed(".* expected")],
            extra={"repeat": "term", "repeatDirection": "h", "maxPerRow": 3},
        ),
        row("Accounts: deletions, coordination, relocation"),
        timeseries(
            "Deletions vs expected by region",
            "Are posts being deleted far above normal (a mass self-deletion under pressure)? Deletions in "
            "the last closed window per region (solid), counted where the deleted post counted, against "
            "the region's deletion baseline (dashed); alert type deletion, key '*'.",
            [
                q('sum by (region) (pipeline_window_deletions{region=~"$region"})', "{{region}}"),
                q(
                    'sum by (region) (pipeline_window_expected_deletions{region=~"$region"})',
                    "{{region}} expected",
                ),
            ],
            axis="deletions per window",
            w=12,
            overrides=[dashed(".* expected")],
        ),
        timeseries(
            "Watchlist deletions vs expected",
            "Is one term being removed (targeted deletion)? Deleted posts carrying each watchlist term in "
            "the last closed window (solid) against the term's share of the region's deletions (dashed); "
            "alert type deletion, key term:<t>.",
            [
                q(f"sum by (term, region) (pipeline_term_deletions{watch})", "{{term}} in {{region}}"),
                q(
                    f"sum by (term, region) (pipeline_term_expected_deletions{watch})",
                    "{{term}} in {{region}} expected",
                ),
            ],
            axis="deleted posts per window",
            w=12,
            overrides=[dashed(".* expected")],
        ),
        timeseries(
            "Relocations by destination",
            "Are many authors suddenly posting from another region (location games that hide filtering "
            "or fake a surge)? Authors per second seen moving into each region; their posts still count "
            "at home. Alert type relocation.",
            [q(f'sum by (to) (rate(pipeline_relocations_total{{to=~"$region"}}[{RATE}]))', "to {{to}}")],
            axis="authors/s",
            w=8,
        ),
        stat(
            "Open coordination clusters",
            "Are new accounts posting the same claim in near-identical words right now? Clusters open "
            "(alert type coordination; the alert carries a sample text and the shared terms).",
            [q("sum(pipeline_coordination_clusters_open)", "clusters")],
            w=4,
            h=8,
            thresholds=_thresholds(("green", None), ("red", 1)),
        ),
        bargauge(
            "Coordination cluster sizes",
            "How many distinct accounts are in each open cluster?",
            [q("max by (cluster) (pipeline_coordination_cluster_accounts)", "{{cluster}}", instant=True)],
            w=6,
            h=8,
            thresholds=_thresholds(("green", None), ("orange", 8), ("red", 20)),
        ),
        stat(
            "Account alerts",
            "How many deletion, coordination and relocation alert records has detection raised since the "
            "workers started?",
            [
                q(
                    'sum by (type) (pipeline_alerts_total{type=~"deletion|coordination|relocation"})',
                    "{{type}}",
                )
            ],
            w=6,
            h=8,
        ),
    ]
    return dashboard(
        "censorship-watch",
        "Censorship watch",
        "Watchlist terms observed against expected by region, filtering suspicion, outages and alerts.",
        panels,
        variables=[REGION, TERM],
        annotations=[FILTERING_ANNOTATION, outages('{region=~"$region"}'), SUPPRESSED_ANNOTATION],
        time_from="now-1h",
    )


def ratio(selector: str) -> str:
    """Observed over expected per key; the expectation floored at one post so rare keys stay sane."""
    return (
        f"max by (key) (pipeline_surge_observed{selector}) / "
        f"max by (key) (clamp_min(pipeline_surge_expected{selector}, 1))"
    )


def surges() -> dict[str, Any]:
    categories = '{key=~"category:.*"}'
    terms = '{key!="*", key!~"category:.*"}'
    panels = [
        row("Overall volume"),
        timeseries(
            "Overall volume vs expected",
            "Is everyone suddenly posting? All posts in the last closed 5-minute window (key '*') against "
            "what the baseline expected (dashed).",
            [
                q('max(pipeline_surge_observed{key="*"})', "observed"),
                q('max(pipeline_surge_expected{key="*"})', "expected"),
            ],
            axis="posts per window",
            w=16,
            overrides=[dashed("expected")],
        ),
        stat(
            "Overall observed / expected",
            "How far above its expected level is the overall volume now?",
            [q(ratio('{key="*"}'), "all posts")],
            unit="percentunit",
            w=4,
            h=8,
            graph=True,
            thresholds=_thresholds(("green", None), ("orange", 1.5), ("red", 2)),
        ),
        stat(
            "Surge alerts",
            "How many surge alert records (onsets and ends) has detection raised, and how many surge "
            "episodes are open now?",
            [
                q('sum(pipeline_alerts_total{type="surge"})', "alerts"),
                q('sum(pipeline_active_episodes{type="surge"})', "open now"),
            ],
            w=4,
            h=8,
        ),
        row("What is surging"),
        bargauge(
            "Top surging keys now",
            "What is surging right now? The ten keys (overall, category:<c>, watchlist term) with the "
            "highest observed / expected ratio in the last closed window.",
            [q(f"topk(10, {ratio('')})", "{{key}}", instant=True)],
            unit="percentunit",
            w=8,
            h=10,
            thresholds=_thresholds(("green", None), ("orange", 1.5), ("red", 2)),
        ),
        timeseries(
            "Top surging keys over time",
            "What surged when? The five keys with the highest observed / expected ratio at each step.",
            [q(f"topk(5, {ratio('')})", "{{key}}")],
            unit="percentunit",
            w=16,
            h=10,
        ),
        timeseries(
            "Category surge measures",
            "Which category is out of line (e.g. medical when people are hurt)? Observed / expected per "
            "category in the last closed window.",
            [q(ratio(categories), "{{key}}")],
            unit="percentunit",
            w=12,
        ),
        table(
            "Category surge measures now",
            "The numbers behind the category surge test: posts observed and expected per category in the "
            "last closed window.",
            [
                q(f"max by (key) (pipeline_surge_observed{categories})", table=True),
                q(f"max by (key) (pipeline_surge_expected{categories})", table=True),
            ],
            columns={"Value #A": "observed", "Value #B": "expected"},
            sort_by="observed",
            w=12,
        ),
        timeseries(
            "Watchlist term surge measures",
            "Is a watchlist term spreading? Observed / expected per term in the last closed window.",
            [q(ratio(terms), "{{key}}")],
            unit="percentunit",
            w=12,
        ),
        timeseries(
            "Open episodes by type",
            "What was going on when? Detection episodes open at each moment, by type.",
            [q("sum by (type) (pipeline_active_episodes)", "{{type}}")],
            axis="episodes",
            stepped=True,
            w=12,
        ),
        row("Regions ($region)"),
        timeseries(
            "Window volume by region",
            "Where does a surge come from? Posts per region in the last closed window (solid) against the "
            "region's expected level (dashed).",
            [
                q('sum by (region) (pipeline_window_posts{region=~"$region"})', "{{region}}"),
                q(
                    'sum by (region) (pipeline_window_expected_posts{region=~"$region"})',
                    "{{region}} expected",
                ),
            ],
            axis="posts per window",
            w=24,
            overrides=[dashed(".* expected")],
        ),
    ]
    return dashboard(
        "surges",
        "Surges",
        "Overall, category and watchlist-term volume against expected levels; surge alerts and episodes.",
        panels,
        variables=[REGION],
        annotations=[
            SURGE_ANNOTATION,
            annotation(
                "SurgeDetected firing",
                'ALERTS{alertname="SurgeDetected", alertstate="firing"}',
                "blue",
                title="SurgeDetected",
                text="Prometheus rule SurgeDetected is firing",
            ),
        ],
    )


DASHBOARDS = {
    "pipeline-overview.json": pipeline_overview,
    "classification.json": classification,
    "censorship-watch.json": censorship_watch,
    "surges.json": surges,
}


def build() -> dict[str, dict[str, Any]]:
    """File name → dashboard."""
    return {name: make() for name, make in DASHBOARDS.items()}


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed file differs")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = parser.parse_args(argv)
    stale = []
    for name, board in build().items():
        path = args.out / name
        text = render(board)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(
            f"out of date: {', '.join(stale)}; run python deploy/grafana/build_dashboards.py", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
