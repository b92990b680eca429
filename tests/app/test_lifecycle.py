"""Replay on resume, graceful shutdown, and the engine's independence from the web shell."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from support.waiting import wait_for
from support.ws import Closed, connect

from app.keys import ENGINE
from collab.events import NewEvent


async def test_a_resume_from_zero_replays_10000_stored_events_in_order_each_once(start) -> None:
    # How fast that goes is bench/replay_bench.py's figure, not an assertion here.
    client = await start()
    store = client.app[ENGINE].store
    # Straight into the store (not through the hub): the resume has to read them from the database.
    await store.append_many(
        [NewEvent("bulk", "message", {"content": f"m{i}"}, user_id="u1", nickname="writer") for i in range(10_000)]
    )
    peer = await connect(client, channel="bulk", since=0)
    assert peer.welcome["seq"] == 10_000
    last = 0
    while last < 10_000:
        frame = await peer.recv()
        if frame["type"] == "message":
            assert (frame["seq"], frame["content"]) == (last + 1, f"m{last}")
            last = frame["seq"]
    # Nothing after the last one: no event is replayed twice.
    assert [f for f in await peer.barrier() if f["type"] == "message"] == []


async def test_graceful_shutdown_closes_with_1001_and_keeps_acknowledged_appends(start) -> None:
    settings = {"rate_limit_per_second": 10_000.0, "rate_burst": 10_000}
    client = await start(**settings)
    writer = await connect(client, channel="last-words")
    listener = await connect(client, channel="elsewhere")
    for i in range(1000):
        await writer.send(type="message", content=f"w{i}", id=f"w{i}")

    acked: dict[str, int] = {}
    while len(acked) < 5:
        frame = await writer.expect("message")
        acked[frame["id"]] = frame["seq"]
    # Shut the server down while appends are still in flight; the writer keeps reading meanwhile.
    shutdown = asyncio.create_task(client.server.close())
    code = None
    while code is None:
        try:
            frame = await writer.recv()
        except Closed as closed:
            code = closed.code
        else:
            if frame["type"] == "message":
                acked[frame["id"]] = frame["seq"]
    listener_code, _ = await listener.closed()
    async with asyncio.timeout(30):
        await shutdown
    assert (code, listener_code) == (1001, 1001)

    # A new server on the same database has every acknowledged message, under its acknowledged seq.
    again = await start(**settings)
    stored = {e.op_id: e.seq for e in await again.app[ENGINE].store.read("last-words")}
    assert {op: stored.get(op) for op in acked} == acked
    assert sorted(stored.values()) == list(range(1, len(stored) + 1))
    print(f"\n{len(acked)} of 1000 acknowledged before the shutdown, {len(stored)} stored")


async def test_a_socket_still_joining_when_the_shutdown_starts_is_closed_with_1001(start) -> None:
    # Its welcome is sent by the join, before the new room is created (which waits for the database's
    # write lock) and before the socket is registered: the shutdown must not miss it.
    client = await start()
    engine = client.app[ENGINE]
    release = asyncio.Event()
    ensure = engine.rooms.ensure

    async def slow_ensure(name: str, session) -> None:
        await release.wait()
        await ensure(name, session)

    engine.rooms.ensure = slow_ensure
    peer = await connect(client, channel="late-joiner")
    shutdown = asyncio.create_task(client.server.close())
    await wait_for(lambda: engine.manager.closing is not None, what="the shutdown closing the sockets")
    release.set()
    code, _ = await peer.closed()
    async with asyncio.timeout(30):
        await shutdown
    assert code == 1001


def test_the_engine_does_not_load_the_web_shell() -> None:
    code = (
        "import collab.engine, sys; "
        "loaded = [m for m in ('app', 'aiohttp.web') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
