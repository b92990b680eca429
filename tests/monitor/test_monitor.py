"""Channel `monitor` and GET /metrics through the real application, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.waiting import wait_for
from support.ws import Peer, connect

from app.keys import ENGINE
from collab.operators.alerts import ALERT_METRICS

SAMPLE_FIELDS = {
    "time",
    "ts",
    "node",
    "process",
    "connections",
    "doc_connections",
    "channels",
    "messages_in_per_s",
    "messages_out_per_s",
    "appends_per_s",
    "batches_per_s",
    "batch_size",
    "last_batch_size",
    "append_p50_ms",
    "append_p99_ms",
    "stored_events",
    "database_bytes",
    "memory_bytes",
    "cpu_percent",
    "loop_lag_ms",
    "alerts",
}


async def chat(client, count: int, room: str = "general") -> Peer:
    """A chat socket that has sent `count` messages and seen them stored."""
    peer = await connect(client, channel=room, nickname="talker")
    for n in range(count):
        await peer.send(type="message", content=f"message {n}", id=f"m{n}")
    for n in range(count):
        await peer.expect("message", id=f"m{n}")
    return peer


async def test_metrics_frames_arrive_every_second_with_every_field(start):
    client = await start()
    engine = client.server.app[ENGINE]
    engine.monitor.database_poll_seconds = 0.2
    watcher = await connect(client, channel="monitor", nickname="ops")
    history = await watcher.expect("metrics_history")
    assert history["channel"] == "monitor" and history["interval"] == 1.0
    talker = await chat(client, 5)

    frames = [await watcher.expect("metrics", within=3.0) for _ in range(4)]
    for frame in frames:
        assert frame.keys() >= SAMPLE_FIELDS, SAMPLE_FIELDS - frame.keys()
        assert frame["channel"] == "monitor" and "seq" not in frame  # relayed, not stored
        assert frame["connections"] == 2 and frame["channels"] >= 2
        assert frame["memory_bytes"] > 1024 * 1024 and frame["cpu_percent"] >= 0 and frame["loop_lag_ms"] >= 0
        assert frame["alerts"] == []
    # One sample per tick, in the order taken (their spacing is bench/monitor_bench.py's figure).
    stamps = [frame["time"] for frame in frames]
    assert all(a < b for a, b in itertools.pairwise(stamps)), stamps

    # The talker's frames and appends show in a sample (the one after they were sent, or the next).
    await talker.send(type="message", content="one more", id="late")
    await talker.expect("message", id="late")
    busy = await watcher.expect(lambda f: f["type"] == "metrics" and f["appends_per_s"] > 0, within=3.0)
    assert busy["messages_in_per_s"] > 0 and busy["messages_out_per_s"] > 0
    assert busy["append_p50_ms"] is not None and 0 <= busy["append_p50_ms"] <= busy["append_p99_ms"] < 10_000
    assert busy["batch_size"] >= 1
    await wait_for(lambda: (engine.monitor.stored_events or 0) >= 6, what="the stored events are counted")
    later = await watcher.expect("metrics", within=3.0)
    assert later["stored_events"] >= 6 and later["database_bytes"] > 0
    assert await engine.store.head("monitor") == 0  # nothing of this was stored


async def test_history_of_recent_samples_is_sent_on_connect(start):
    client = await start()
    first = await connect(client, channel="monitor", nickname="ops")
    await first.expect("metrics_history")
    seen = [await first.expect("metrics", within=3.0) for _ in range(2)]

    # A page that reloads: a new socket gets the samples so far, oldest first, then the live ones.
    again = await connect(client, channel="monitor", nickname="ops")
    history = await again.expect("metrics_history")
    times = [sample["time"] for sample in history["samples"]]
    assert len(times) >= 2 and times == sorted(times)
    assert {frame["time"] for frame in seen} <= set(times)
    assert all(sample.keys() >= SAMPLE_FIELDS for sample in history["samples"])
    live = await again.expect("metrics", within=3.0)
    assert live["time"] > times[-1]

    # Also for a socket that subscribes to the monitor besides its own channel.
    other = await connect(client, channel="general", nickname="ops")
    await other.send(type="subscribe", channel="monitor")
    await other.expect("subscribed", channel="monitor")
    assert (await other.expect("metrics_history"))["samples"]


async def test_an_alert_is_stored_and_replayed_as_history(start):
    client = await start(alert_thresholds=(("connections", 2.0),), alert_resolve_samples=1)
    engine = client.server.app[ENGINE]
    watcher = await connect(client, channel="monitor", nickname="ops")
    history = await watcher.expect("metrics_history")
    assert history["thresholds"] == {"connections": 2.0} and history["firing"] == []

    second = await connect(client, channel="general", nickname="another")
    fired = await watcher.expect("alert", within=3.0)
    assert fired["seq"] == 1 and fired["channel"] == "monitor"
    assert fired["state"] == "firing" and fired["metric"] == "connections"
    assert fired["value"] == 2 and fired["threshold"] == 2.0 and fired["message"]
    sample = await watcher.expect("metrics", within=3.0)
    assert sample["alerts"] == ["connections"]

    await second.close()
    resolved = await watcher.expect("alert", within=3.0)
    assert resolved["seq"] == 2 and resolved["state"] == "resolved" and resolved["since"] == fired["since"]

    stored = await engine.store.read("monitor")
    assert [(e.type, e.data["state"]) for e in stored] == [("alert", "firing"), ("alert", "resolved")]

    # Past alerts are history: a new page asks from seq 0 and gets both, in order, before the samples.
    await watcher.close()
    await wait_for(lambda: len(engine.manager.sessions) == 0, what="the sockets are gone")
    page = await connect(client, channel="monitor", nickname="ops", since=0)
    replayed = [await page.expect("alert"), await page.expect("alert")]
    assert [(a["seq"], a["state"]) for a in replayed] == [(1, "firing"), (2, "resolved")]
    assert replayed[0]["ts"] and replayed[0]["metric"] == "connections"


async def test_prometheus_text_has_the_same_figures(start):
    client = await start(alert_thresholds=(("connections", 1.0), ("loop_lag_ms", 500.0)))
    engine = client.server.app[ENGINE]
    engine.monitor.database_poll_seconds = 0.2
    talker = await chat(client, 3)
    await wait_for(lambda: engine.monitor.latest is not None and "connections" in engine.monitor.alerts.firing)
    await wait_for(lambda: (engine.monitor.stored_events or 0) >= 3, what="the stored events are counted")

    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(await response.text())}

    def value(name: str, **labels: str) -> float:
        for sample in families[name].samples:
            if all(sample.labels.get(k) == v for k, v in labels.items()) and sample.name in (name, f"{name}_total"):
                return sample.value
        raise AssertionError(f"no sample {name} {labels}")

    assert families["collab_connections"].type == "gauge" and value("collab_connections") == 1
    assert value("collab_channels_active") >= 1
    assert families["collab_messages_in"].type == "counter" and value("collab_messages_in") >= 3
    assert value("collab_messages_out") >= 3
    assert value("collab_appended_events") >= 3 and value("collab_append_batches") >= 1
    assert value("collab_stored_events") >= 3 and value("collab_database_size_bytes") > 0
    assert value("collab_memory_bytes") > 0 and value("collab_cpu_percent") >= 0
    assert value("collab_event_loop_lag_seconds") >= 0
    for name in ("collab_messages_in_per_second", "collab_append_batch_size", "collab_append_latency_p99_seconds"):
        assert name in families
    latency = families["collab_append_latency_seconds"]
    assert latency.type == "histogram"
    counts = {s.labels["le"]: s.value for s in latency.samples if s.name.endswith("_bucket")}
    assert counts["+Inf"] >= 3 and list(counts.values()) == sorted(counts.values())
    assert value("collab_alert_firing", metric="connections") == 1
    assert value("collab_alert_firing", metric="loop_lag_ms") == 0
    assert value("collab_alert_threshold", metric="loop_lag_ms") == 500
    assert value("process_resident_memory_bytes") > 0  # prometheus-client's own process collector
    await talker.close()


async def test_frames_and_metrics_name_the_node(start, database_url):
    # On PostgreSQL with its broker the node is the broker's id; otherwise the process (host:pid).
    on_postgres = database_url.startswith("postgresql")
    client = await start(broker="postgres" if on_postgres else "memory")
    engine = client.server.app[ENGINE]
    node = engine.broker.node if on_postgres else engine.monitor.process
    assert engine.monitor.node == node
    watcher = await connect(client, channel="monitor", nickname="ops")
    history = await watcher.expect("metrics_history")
    assert history["node"] == node
    frame = await watcher.expect("metrics", within=3.0)
    assert frame["node"] == node and frame["process"] == engine.monitor.process
    assert all(sample["node"] == node for sample in history["samples"])

    response = await client.get("/metrics")
    families = list(text_string_to_metric_families(await response.text()))
    ours = [sample for family in families if family.name.startswith("collab_") for sample in family.samples]
    assert ours and all(sample.labels.get("node") == node for sample in ours), [
        sample for sample in ours if sample.labels.get("node") != node
    ][:3]
    await watcher.close()


async def test_every_alert_metric_names_a_sample_field():
    assert {field for field, _ in ALERT_METRICS.values()} <= SAMPLE_FIELDS


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {"append_p99_ms": 1000.0, "loop_lag_ms": 500.0, "memory_mb": 2048.0}),
        ({"COLLAB_ALERT_CONNECTIONS": "100", "COLLAB_ALERT_MEMORY_MB": "0"}, None),
    ],
)
def test_alert_thresholds_come_from_the_environment(env, expected):
    from app.config import Settings

    thresholds = dict(Settings.from_env(env).alert_thresholds)
    if expected is None:
        assert thresholds["connections"] == 100.0 and "memory_mb" not in thresholds
    else:
        assert thresholds == expected


def test_a_bad_threshold_names_its_variable():
    from app.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="COLLAB_ALERT_CPU_PERCENT"):
        Settings.from_env({"COLLAB_ALERT_CPU_PERCENT": "lots"})
    with pytest.raises(ConfigError, match="COLLAB_ALERT_LOOP_LAG_MS"):
        Settings.from_env({"COLLAB_ALERT_LOOP_LAG_MS": "-1"})
    with pytest.raises(ConfigError, match="COLLAB_MONITOR_INTERVAL_SECONDS"):
        Settings.from_env({"COLLAB_MONITOR_INTERVAL_SECONDS": "0"})
