"""Alerts left firing by a process that stopped are resolved by the next one (a stored `resolved` event
that says why), not shown as firing for ever; a running process's alerts are left to it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from support.closing import opened
from support.waiting import wait_for

from collab.engine import Engine
from collab.events import NewEvent
from collab.operators.monitor import MONITOR_CHANNEL, MonitorConfig
from collab.store.sql import SqlEventStore

HOST = socket.gethostname()


def _stopped_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(done.stdout)


def _firing(metric: str, node: str, process: str) -> dict:
    return {
        "metric": metric,
        "state": "firing",
        "value": 900.0,
        "threshold": 500.0,
        "node": node,
        "process": process,
        "since": "2026-03-01T08:00:00.000Z",
        "message": f"{metric} is 900, at or above 500",
    }


async def _seed(database_url: str, alerts: list[dict]) -> None:
    async with opened(SqlEventStore.open(database_url)) as store:
        for alert in alerts:
            await store.append(NewEvent(MONITOR_CHANNEL, "alert", alert))


async def test_a_restart_resolves_the_alerts_its_predecessors_left_firing(database_url: str) -> None:
    stopped = f"{HOST}:{_stopped_pid()}"
    living = f"{HOST}:{os.getppid()}"  # pytest's parent: a process of this host that still runs
    await _seed(
        database_url,
        [
            _firing("loop_lag_ms", stopped, stopped),  # the server before the restart
            _firing("memory_mb", living, living),
            _firing("cpu_percent", "far-node", "elsewhere:77"),  # another host, no broker to ask
            _firing("connections", stopped, stopped),
            {**_firing("connections", stopped, stopped), "state": "resolved"},  # resolved already
        ],
    )
    async with opened(Engine.open(database_url, monitor=MonitorConfig(thresholds={}))) as engine:
        await wait_for(lambda: engine.monitor.alerts.stored == 1, what="the stale alert resolved")
        stored = await engine.store.read(MONITOR_CHANNEL)
    assert len(stored) == 6
    resolution = stored[-1].data
    assert resolution["metric"] == "loop_lag_ms" and resolution["state"] == "resolved"
    assert resolution["process"] == stopped and resolution["since"] == "2026-03-01T08:00:00.000Z"
    assert resolution["reason"] == "process stopped" and resolution["resolved_by"] == f"{HOST}:{os.getpid()}"
    assert f"{stopped} stopped" in resolution["message"]

    # The next start finds nothing left to resolve: the history is not written twice.
    async with opened(Engine.open(database_url)) as engine:
        assert await engine.monitor.alerts.resolve_left_firing() == []
        assert await engine.store.head(MONITOR_CHANNEL) == 6


async def test_the_postgres_broker_tells_a_gone_node_from_a_live_one(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("only the PostgreSQL broker knows the other nodes")
    async with opened(Engine.open(database_url, broker="postgres")) as live:
        await _seed(
            database_url,
            [
                _firing("loop_lag_ms", live.broker.node, "other-host:1"),
                _firing("memory_mb", "gonenode", "other-host:2"),
            ],
        )
        async with opened(Engine.open(database_url, broker="postgres")) as restarted:
            resolved = await restarted.monitor.alerts.resolve_left_firing()
    assert [(r["metric"], r["node"]) for r in resolved] == [("memory_mb", "gonenode")]
