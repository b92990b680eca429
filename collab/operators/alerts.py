"""The monitor's alerts: a figure at or above its threshold stores an `alert` event (`state: "firing"`),
and `resolve_after` samples below it store another (`state: "resolved"`), one after the other in the
order they were raised (docs/monitor.md). A process that starts resolves the alerts left firing by
processes that no longer run: nobody else would."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping
from typing import Any

from collab.events import NewEvent
from collab.realtime.hub import ChannelManager

log = logging.getLogger(__name__)

MONITOR_CHANNEL = "monitor"
MIB = 1024 * 1024

# What an alert threshold may watch: its name (`COLLAB_ALERT_<NAME>`) → the sample's field and the
# factor from that field's unit to the threshold's (thresholds in MB read fields in bytes).
ALERT_METRICS: Mapping[str, tuple[str, float]] = {
    "connections": ("connections", 1.0),
    "channels": ("channels", 1.0),
    "messages_in_per_s": ("messages_in_per_s", 1.0),
    "messages_out_per_s": ("messages_out_per_s", 1.0),
    "append_p99_ms": ("append_p99_ms", 1.0),
    "loop_lag_ms": ("loop_lag_ms", 1.0),
    "cpu_percent": ("cpu_percent", 1.0),
    "memory_mb": ("memory_bytes", 1 / MIB),
    "database_mb": ("database_bytes", 1 / MIB),
}
# Thresholds that are on unless configured otherwise (0 turns one off).
ALERT_DEFAULTS: Mapping[str, float] = {"loop_lag_ms": 500.0, "append_p99_ms": 1000.0, "memory_mb": 2048.0}

ALERT_QUEUE_LIMIT = 1000


class Alerts:
    """The alerts of one process (`node`, `process`): which fire now, and the task that stores them."""

    def __init__(self, manager: ChannelManager, node: str, process: str) -> None:
        self.manager = manager
        self.node = node
        self.process = process
        # Alerts now firing: name → the data of its `alert` event; samples below threshold since.
        self.firing: dict[str, dict[str, Any]] = {}
        self._below: dict[str, int] = {}
        self.stored = 0
        self._alerts: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(ALERT_QUEUE_LIMIT)

    def evaluate(self, sample: dict[str, Any], thresholds: Mapping[str, float], resolve_after: int) -> None:
        """Raise or resolve the alerts this sample calls for (queued for `store_forever`)."""
        for name, threshold in thresholds.items():
            key, factor = ALERT_METRICS[name]
            raw = sample.get(key)
            value = None if raw is None else round(raw * factor, 3)
            if value is not None and value >= threshold:
                self._below[name] = 0
                if name not in self.firing:
                    alert = {
                        "metric": name,
                        "state": "firing",
                        "value": value,
                        "threshold": threshold,
                        "node": self.node,
                        "process": self.process,
                        "since": sample["ts"],
                        "message": f"{name} is {value:g}, at or above {threshold:g}",
                    }
                    self.firing[name] = alert
                    self._queue(alert)
            elif name in self.firing:
                self._below[name] = self._below.get(name, 0) + 1
                if self._below[name] >= resolve_after:
                    fired = self.firing.pop(name)
                    del self._below[name]
                    self._queue(
                        {
                            "metric": name,
                            "state": "resolved",
                            "value": value,
                            "threshold": threshold,
                            "node": self.node,
                            "process": self.process,
                            "since": fired["since"],
                            "message": f"{name} is back below {threshold:g}",
                        }
                    )

    def _queue(self, alert: dict[str, Any]) -> None:
        try:
            self._alerts.put_nowait(alert)
        except asyncio.QueueFull:
            log.warning("monitor: %d alerts waiting to be stored; dropped %s", ALERT_QUEUE_LIMIT, alert["message"])

    def finish(self) -> None:
        """`store_forever` returns once what is queued now is stored."""
        with contextlib.suppress(asyncio.QueueFull):
            self._alerts.put_nowait(None)

    async def store_forever(self) -> None:
        """Store alerts one after the other, in the order they were raised (firing before resolved),
        until `finish`."""
        try:
            await self.resolve_left_firing()
        except Exception as error:  # the database refused: say so, keep monitoring
            log.warning("monitor: resolving the alerts of stopped processes failed: %s", error)
        while True:
            alert = await self._alerts.get()
            if alert is None:
                return
            try:
                await self._store(alert)
            except Exception as error:  # the database refused: say so, keep monitoring
                log.warning("monitor: storing alert %r failed: %s", alert["message"], error)

    async def resolve_left_firing(self) -> list[dict[str, Any]]:
        """Store a `resolved` event for each alert left firing by a process that no longer runs (this
        node before a restart, a stopped process on this host, a node no longer listening on the
        PostgreSQL broker): nobody else would ever resolve it. A figure still too high fires again,
        as this process's own alert, at its first sample. Returns the resolutions stored."""
        firing: dict[tuple[str, str], dict[str, Any]] = {}  # (process, metric) → its last firing alert
        after = 0
        while batch := await self.manager.store.read(MONITOR_CHANNEL, after=after, limit=1000):
            after = batch[-1].seq
            for event in batch:
                data = event.data
                if event.type != "alert" or not isinstance(data.get("metric"), str):
                    continue
                key = (str(data.get("process") or data.get("node")), data["metric"])
                if data.get("state") == "firing":
                    firing[key] = data
                else:
                    firing.pop(key, None)
        live_nodes = await self._live_nodes() if firing else None
        resolutions = []
        for (process, metric), alert in firing.items():
            if not self._stopped(alert, live_nodes):
                continue
            resolution = {
                "metric": metric,
                "state": "resolved",
                "value": None,
                "threshold": alert.get("threshold"),
                "node": alert.get("node"),
                "process": alert.get("process"),
                "since": alert.get("since"),
                "reason": "process stopped",
                "resolved_by": self.process,
                "message": f"{metric}: {process} stopped while it was firing; resolved by {self.process}",
            }
            await self._store(resolution)
            resolutions.append(resolution)
        return resolutions

    async def _store(self, alert: dict[str, Any]) -> None:
        await self.manager.append(NewEvent(MONITOR_CHANNEL, "alert", alert))
        self.stored += 1

    async def _live_nodes(self) -> set[str] | None:
        """The broker's nodes alive now, when the broker can tell (the PostgreSQL one); else None."""
        ask = getattr(self.manager.broker, "live_nodes", None)
        if ask is None:
            return None
        try:
            return set(await ask())
        except Exception as error:  # unknown: resolve only what this host can tell
            log.warning("monitor: asking which nodes are alive failed: %s", error)
            return None

    def _stopped(self, alert: dict[str, Any], live_nodes: set[str] | None) -> bool:
        """Whether the process that raised `alert` has stopped. Nothing of this process is stored yet
        when this runs, so its own node or process id in a firing alert is an earlier process's."""
        node, process = alert.get("node"), alert.get("process")
        if node == self.node or process == self.process:
            return True
        host, _, pid = str(process).rpartition(":")
        if host == socket.gethostname() and pid.isdigit():
            return not _running(int(pid))
        if live_nodes is not None and isinstance(node, str):
            return node not in live_nodes
        return False  # another host's process, and no broker to ask: it resolves its own


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True
