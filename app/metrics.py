"""`GET /metrics`: the monitor's figures in Prometheus' text format; and the monitor's configuration from the settings.

The figures are those of the `metrics` frames on channel `monitor` (collab/operators/monitor.py,
docs/monitor.md), read when Prometheus scrapes: live ones (connections, channels, counters, the
latency histogram) as they are now, rates and percentiles from the last one-second sample. Besides
them, prometheus-client's standard process, platform and garbage-collector collectors.

Each application has a registry of its own (not prometheus-client's global one): tests run many apps
in one process, and a second app must not find the first one's collectors.

Every `collab_*` figure has a `node` label (the monitor's node: the PostgreSQL broker's node id, else
`host:pid`), so that figures scraped from several nodes of one cluster stay apart when summed or
graphed side by side, even behind one address.

`/metrics` needs no token: Prometheus scrapes without one. It shows counts and timings, no names or
contents; keep it off the public internet with the reverse proxy (docs/monitor.md).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from app.config import Settings
from app.keys import ENGINE
from collab.engine import Engine
from collab.operators.monitor import LATENCY_BUCKETS, MonitorConfig

METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)

# Figures of the last sample: its field → (metric name, help, factor to the metric's unit).
_SAMPLED = (
    ("messages_in_per_s", "collab_messages_in_per_second", "Client frames handled per second (last sample)", 1.0),
    ("messages_out_per_s", "collab_messages_out_per_second", "Event frames sent per second (last sample)", 1.0),
    ("appends_per_s", "collab_appends_per_second", "Events committed per second (last sample)", 1.0),
    ("batch_size", "collab_append_batch_size", "Mean events per committed batch (last sample)", 1.0),
    ("append_p50_ms", "collab_append_latency_p50_seconds", "Median append latency (last sample)", 0.001),
    ("append_p99_ms", "collab_append_latency_p99_seconds", "99th percentile append latency (last sample)", 0.001),
    ("cpu_percent", "collab_cpu_percent", "CPU time used, percent of one core (last sample)", 1.0),
    ("loop_lag_ms", "collab_event_loop_lag_seconds", "Worst event-loop lag since the previous sample", 0.001),
)

# Counters of Monitor.counters(): collab_<key>_total.
_COUNTERS = (
    ("messages_in", "Client frames handled"),
    ("messages_out", "Event frames queued to clients"),
    ("append_batches", "Batches committed by the writer"),
    ("appended_events", "Events committed by the writer"),
    ("alerts_stored", "Alert events stored (firing and resolved)"),
)


def _value(raw: Any, factor: float = 1.0) -> float:
    """A figure, or NaN while it is unknown (no append in the last second, database not read yet)."""
    return math.nan if raw is None else float(raw) * factor


class MonitorCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        monitor = self.engine.monitor
        manager = self.engine.manager
        node = [monitor.node]
        latest = monitor.latest or {}
        counters = monitor.counters()

        def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, documentation, labels=["node"])
            family.add_metric(node, value)
            return family

        yield gauge("collab_connections", "Open JSON channel sockets (/ws) in this process", len(manager.sessions))
        yield gauge("collab_document_connections", "Open document sockets (/ws/doc)", len(self.engine.documents.peers))
        yield gauge("collab_channels_active", "Channels with clients here", len(manager.channels))
        for key, documentation in _COUNTERS:
            counter = CounterMetricFamily(f"collab_{key}", documentation, labels=["node"])
            counter.add_metric(node, counters[key])
            yield counter
        for field, name, documentation, factor in _SAMPLED:
            yield gauge(name, documentation, _value(latest.get(field), factor))
        last_batch = getattr(self.engine.store, "last_batch_size", 0)
        yield gauge("collab_append_last_batch_size", "Events in the last committed batch", last_batch)
        yield gauge("collab_stored_events", "Events kept in the log", _value(monitor.stored_events))
        yield gauge("collab_database_size_bytes", "Size of the database", _value(monitor.database_bytes))
        yield gauge("collab_memory_bytes", "Resident memory (last sample)", _value(latest.get("memory_bytes")))

        latency = monitor.latency
        cumulative, buckets = 0, []
        for bound, count in zip((*LATENCY_BUCKETS, math.inf), latency.buckets, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == math.inf else repr(bound), cumulative))
        histogram = HistogramMetricFamily(
            "collab_append_latency_seconds",
            "From an event's creation to its delivery after the commit",
            labels=["node"],
        )
        histogram.add_metric(node, buckets, latency.total)
        yield histogram

        firing = GaugeMetricFamily("collab_alert_firing", "1 while the alert fires", labels=["node", "metric"])
        thresholds = GaugeMetricFamily("collab_alert_threshold", "The alert's threshold", labels=["node", "metric"])
        for metric, threshold in sorted(monitor.config.thresholds.items()):
            firing.add_metric([*node, metric], 1.0 if metric in monitor.alerts.firing else 0.0)
            thresholds.add_metric([*node, metric], threshold)
        yield firing
        yield thresholds


async def metrics(request: web.Request) -> web.Response:
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encoder(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": content_type})


def monitor_config(settings: Settings) -> MonitorConfig:
    """The monitor's configuration from the settings: what `Engine.open` starts it with."""
    return MonitorConfig(
        interval=settings.monitor_interval_seconds,
        history_seconds=settings.monitor_history_seconds,
        thresholds=dict(settings.alert_thresholds),
        resolve_after=settings.alert_resolve_samples,
    )


async def _registry_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs after the engine's context (the engine samples; this exports its figures)."""
    engine = app[ENGINE]
    registry = CollectorRegistry(auto_describe=True)
    registry.register(MonitorCollector(engine))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    app[METRICS_REGISTRY] = registry
    yield


def setup(app: web.Application) -> None:
    """`GET /metrics`; call after the engine's cleanup context is added."""
    app.cleanup_ctx.append(_registry_ctx)
    app.router.add_get("/metrics", metrics)
