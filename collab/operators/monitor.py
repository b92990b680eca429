"""The monitor: the server's figures sampled every second, and alerts when one reaches its threshold.

The `monitor` channel (docs/monitor.md):

- every `interval` a `metrics` frame goes to the channel's clients. It is relayed, not stored: a
  second's figures mean little a minute later, and a stored frame per second would bury the alerts
  in the channel's history and grow the log by 86,400 events a day;
- a figure reaching its threshold stores an `alert` event (`state: "firing"`); the figure staying
  below it for `resolve_after` samples stores another (`state: "resolved"`). Alerts are events, so a
  page that connects with `since=0` gets every past one;
- joining the channel sends `metrics_history`: the samples of the last minutes, kept in a ring buffer
  in memory, so that a page that reloads draws its charts again at once.

The figures are this process's own: each server process samples itself, and a sample names its
`node` (the broker's node id with the PostgreSQL broker, else `host:pid`) and its `process`. The
`metrics` frames are relayed through the broker, so with the PostgreSQL broker every node's frames
reach the channel's clients on every node (one NOTIFY per node per interval); the history sent on
joining is the joined node's own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from collab.errors import StoreError
from collab.events import StoredEvent, utcnow
from collab.operators.alerts import ALERT_DEFAULTS, ALERT_METRICS, MONITOR_CHANNEL, Alerts
from collab.operators.figures import LATENCY_BUCKETS, AppendLatency, resident_memory_bytes
from collab.realtime.channel import Channel
from collab.realtime.hub import ChannelManager
from collab.realtime.kinds import ChannelKind
from collab.realtime.session import Session
from collab.store.base import EventStore
from collab.timetext import wire_timestamp

log = logging.getLogger(__name__)

LAG_PROBE_SECONDS = 0.1
DATABASE_POLL_SECONDS = 5.0
DATABASE_TIMEOUT_SECONDS = 10.0


class MessagesIn(Protocol):
    messages_in: int


class DatabaseFigures(Protocol):
    """The database's figures (collab.store.stats.DatabaseStats): (events kept, bytes it takes);
    `StoreError` when it does not answer."""

    async def figures(self) -> tuple[int, int]: ...


@dataclass(frozen=True)
class MonitorConfig:
    """`thresholds`: alert name (a key of ALERT_METRICS) → the value at or above which it fires."""

    interval: float = 1.0
    history_seconds: float = 600.0
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(ALERT_DEFAULTS))
    resolve_after: int = 5

    def __post_init__(self) -> None:
        unknown = set(self.thresholds) - set(ALERT_METRICS)
        if unknown:
            raise ValueError(f"no such alert metric: {', '.join(sorted(unknown))}")
        if self.interval <= 0 or self.history_seconds < self.interval or self.resolve_after < 1:
            raise ValueError("interval > 0, history_seconds ≥ interval and resolve_after ≥ 1")


class Monitor:
    """Samples this process every `config.interval` once `start`ed; see the module docstring."""

    def __init__(
        self,
        manager: ChannelManager,
        dispatcher: MessagesIn,
        store: EventStore,
        database: DatabaseFigures | None = None,
        document_peers: Mapping[str, Any] | None = None,
    ) -> None:
        self.manager = manager
        self.dispatcher = dispatcher
        self.store = store
        self.database = database
        self.document_peers = document_peers
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        # Which node of a cluster this is: the PostgreSQL broker's id (what its listener connection
        # is named after in pg_stat_activity), or this process when fan-out stays in it.
        self.node: str = getattr(manager.broker, "node", None) or self.process
        self.config = MonitorConfig()
        self.database_poll_seconds = DATABASE_POLL_SECONDS
        self.latency = AppendLatency()
        self.history: deque[dict[str, Any]] = deque(maxlen=600)
        self.latest: dict[str, Any] | None = None
        self.alerts = Alerts(manager, self.node, self.process)
        self.stored_events: int | None = None
        self.database_bytes: int | None = None
        self._lag_max = 0.0
        self._last: tuple[float, int, int, int, int, float] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._alert_writer: asyncio.Task[None] | None = None

    # -- wiring ---------------------------------------------------------------------------------------

    def register(self) -> ChannelKind:
        """The `monitor` channel kind: history on join; this monitor hears every committed event."""
        kind = self.manager.register_channel(MONITOR_CHANNEL)
        kind.presence = False  # who watches the monitor is nobody's business there
        kind.client_publish = False  # metrics and alerts come from the server only
        kind.on_connect(self._send_history)
        self.manager.event_listeners.append(self._on_event)
        return kind

    def _on_event(self, event: StoredEvent) -> None:
        self.latency.record(time.time() - event.created_at.timestamp())

    async def _send_history(self, channel: Channel, client: Session) -> None:
        channel.send_to(client.id, self.history_frame())

    def history_frame(self) -> dict[str, Any]:
        return {
            "type": "metrics_history",
            "node": self.node,
            "process": self.process,
            "interval": self.config.interval,
            "thresholds": dict(self.config.thresholds),
            "firing": list(self.alerts.firing.values()),
            "samples": list(self.history),
        }

    # -- lifetime -------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._alert_writer is not None

    def start(self, config: MonitorConfig | None = None) -> None:
        """Sample every `config.interval` from now on; call `stop` before the store closes."""
        if self._alert_writer is not None:
            raise RuntimeError("the monitor is running already")
        if config is not None:
            self.config = config
        self.config = MonitorConfig(
            self.config.interval,
            self.config.history_seconds,
            {name: value for name, value in self.config.thresholds.items() if value > 0},
            self.config.resolve_after,
        )
        self.history = deque(self.history, maxlen=max(1, round(self.config.history_seconds / self.config.interval)))
        self._alert_writer = asyncio.create_task(self.alerts.store_forever(), name="monitor-alerts")
        self._tasks = [
            asyncio.create_task(self._sample_forever(), name="monitor-sampler"),
            asyncio.create_task(self._probe_lag(), name="monitor-lag-probe"),
        ]
        if self.database is not None:
            self._tasks.append(asyncio.create_task(self._poll_database(), name="monitor-database"))

    async def stop(self) -> None:
        """Stop sampling, then store the alerts still queued. Idempotent."""
        tasks, self._tasks = self._tasks, []
        writer, self._alert_writer = self._alert_writer, None
        if writer is None:
            return
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.alerts.finish()
        try:
            await asyncio.wait_for(writer, DATABASE_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("monitor: alerts still queued at shutdown were not stored")

    # -- sampling -------------------------------------------------------------------------------------

    async def _sample_forever(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.config.interval
        self._baseline()
        due = loop.time() + interval
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            due += interval
            if due < loop.time():  # fell behind (a stalled loop): carry on from now, no burst of samples
                due = loop.time() + interval
            try:
                self.tick()
            except Exception:  # a figure that fails once must not end the monitoring for good
                log.exception("monitor: taking a sample failed")

    def _counters(self) -> tuple[float, int, int, int, int, float]:
        figures: Any = self.store
        return (
            time.monotonic(),
            self.dispatcher.messages_in,
            self.manager.messages_out,
            getattr(figures, "batches_committed", 0),
            getattr(figures, "events_committed", 0),
            time.process_time(),
        )

    def _baseline(self) -> None:
        self._last = self._counters()
        self.latency.take()
        self._lag_max = 0.0

    def tick(self) -> dict[str, Any]:
        """Take a sample, keep it, raise or resolve alerts, send it to the channel's clients on every node."""
        sample = self.sample()
        self.history.append(sample)
        self.latest = sample
        self.alerts.evaluate(sample, self.config.thresholds, self.config.resolve_after)
        sample["alerts"] = sorted(self.alerts.firing)
        # Relayed even when nobody watches here: a page on another node shows this node's figures too.
        self.manager.broker.relay(MONITOR_CHANNEL, {"type": "metrics", "channel": MONITOR_CHANNEL, **sample})
        return sample

    def sample(self) -> dict[str, Any]:
        """The figures since the previous sample (rates per second over the time really elapsed)."""
        if self._last is None:
            self._baseline()
        now, messages_in, messages_out, batches, events, cpu = current = self._counters()
        then, messages_in_0, messages_out_0, batches_0, events_0, cpu_0 = self._last or current
        self._last = current
        elapsed = max(now - then, 1e-6)
        lag, self._lag_max = self._lag_max, 0.0
        p50, p99 = self.latency.take()
        batch_count = batches - batches_0
        appended = events - events_0
        figures: Any = self.store
        return {
            "time": round(time.time(), 3),
            "ts": wire_timestamp(utcnow()),
            "node": self.node,
            "process": self.process,
            "connections": len(self.manager.sessions),
            "doc_connections": len(self.document_peers) if self.document_peers is not None else 0,
            "channels": len(self.manager.channels),
            "messages_in_per_s": round((messages_in - messages_in_0) / elapsed, 1),
            "messages_out_per_s": round((messages_out - messages_out_0) / elapsed, 1),
            "appends_per_s": round(appended / elapsed, 1),
            "batches_per_s": round(batch_count / elapsed, 1),
            "batch_size": round(appended / batch_count, 1) if batch_count else 0,
            "last_batch_size": getattr(figures, "last_batch_size", 0),
            "append_p50_ms": None if p50 is None else round(p50 * 1000, 3),
            "append_p99_ms": None if p99 is None else round(p99 * 1000, 3),
            "stored_events": self.stored_events,
            "database_bytes": self.database_bytes,
            "memory_bytes": resident_memory_bytes(),
            "cpu_percent": round((cpu - cpu_0) / elapsed * 100, 1),
            "loop_lag_ms": round(lag * 1000, 2),
        }

    async def _probe_lag(self) -> None:
        """How late the loop runs a timer: the worst delay of a 100 ms sleep since the last sample."""
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            await asyncio.sleep(LAG_PROBE_SECONDS)
            lag = loop.time() - began - LAG_PROBE_SECONDS
            if lag > self._lag_max:
                self._lag_max = lag

    async def _poll_database(self) -> None:
        """Stored events and database size every few seconds, off the sampling path: a slow database
        must not stop the samples that would show it."""
        database = self.database
        if database is None:
            return
        failing = False
        while True:
            try:
                async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
                    self.stored_events, self.database_bytes = await database.figures()
                failing = False
            except (TimeoutError, StoreError, OSError) as error:
                if (task := asyncio.current_task()) is not None and task.cancelling():
                    # stop() cancelled the query, and the driver's clean-up error replaced the
                    # CancelledError (asyncpg): stop, or stop() waits for this task forever.
                    raise asyncio.CancelledError from error
                if not failing:
                    log.warning("monitor: reading the database's figures failed: %s", error)
                failing = True
            await asyncio.sleep(self.database_poll_seconds)

    # -- for /metrics ---------------------------------------------------------------------------------

    def counters(self) -> dict[str, int]:
        figures: Any = self.store
        return {
            "messages_in": self.dispatcher.messages_in,
            "messages_out": self.manager.messages_out,
            "append_batches": getattr(figures, "batches_committed", 0),
            "appended_events": getattr(figures, "events_committed", 0),
            "alerts_stored": self.alerts.stored,
        }


__all__ = [
    "ALERT_DEFAULTS",
    "ALERT_METRICS",
    "LATENCY_BUCKETS",
    "MONITOR_CHANNEL",
    "AppendLatency",
    "Monitor",
    "MonitorConfig",
    "resident_memory_bytes",
]
