"""Two stores (two engines, as two server processes would have) appending to one database at once."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

from collab.events import NewEvent
from collab.store.sql import SqlEventStore

APPENDERS = 8
PER_APPENDER = 500
CHANNELS = ["ch-0", "ch-1", "ch-2"]
DEADLINE_SECONDS = 60


async def test_two_stores_append_gapless_and_a_reader_never_sees_a_hole(database_url: str) -> None:
    writers = [await SqlEventStore.open(database_url), await SqlEventStore.open(database_url)]
    reader = await SqlEventStore.open(database_url)
    done = asyncio.Event()
    try:

        async def appender(index: int) -> None:
            store = writers[index % 2]
            n = 0
            while n < PER_APPENDER:
                # Single appends and small runs of append_many, so batches of all sizes meet.
                run = 1 if n % 3 else min(5, PER_APPENDER - n)
                chunk = [
                    NewEvent(
                        CHANNELS[(index + k) % 3],
                        "message",
                        {"appender": index, "n": k},
                        user_id=f"user-{index}",
                        op_id=f"op-{k}",
                    )
                    for k in range(n, n + run)
                ]
                results = [await store.append(chunk[0])] if run == 1 else await store.append_many(chunk)
                assert all(r.new for r in results)
                if n % 50 == 0:
                    # A retry through the other store, as after a reconnect to another process.
                    retry = await writers[(index + 1) % 2].append(chunk[0])
                    assert (retry.new, retry.event) == (False, results[0].event)
                n += run

        seen: dict[str, int] = dict.fromkeys(CHANNELS, 0)
        polls = 0

        async def poll() -> None:
            nonlocal polls
            deadline = time.monotonic() + DEADLINE_SECONDS
            while True:
                finished = done.is_set()
                for channel in CHANNELS:
                    got = await reader.read(channel, after=seen[channel])
                    expected = list(range(seen[channel] + 1, seen[channel] + 1 + len(got)))
                    assert [e.seq for e in got] == expected, f"hole in {channel} after {seen[channel]}"
                    if got:
                        seen[channel] = got[-1].seq
                polls += 1
                if finished:
                    return
                assert time.monotonic() < deadline, "appenders did not finish in time"

        polling = asyncio.create_task(poll())
        await asyncio.gather(*(appender(i) for i in range(APPENDERS)))
        done.set()
        await polling

        total = 0
        for channel in CHANNELS:
            events = await reader.read(channel)
            assert [e.seq for e in events] == list(range(1, len(events) + 1)), channel
            assert await reader.head(channel) == len(events) == seen[channel]
            total += len(events)
            # Each appender's events on one channel keep the order in which it appended them.
            order: dict[int, list[int]] = defaultdict(list)
            for event in events:
                order[event.data["appender"]].append(event.data["n"])
            assert all(ns == sorted(ns) for ns in order.values())
        assert total == APPENDERS * PER_APPENDER
        assert len({(e.user_id, e.op_id) for c in CHANNELS for e in await reader.read(c)}) == total
        assert polls > 1
        # Both stores really did write.
        assert all(store.events_committed > 0 for store in writers)
    finally:
        for store in [*writers, reader]:
            await store.close()


async def test_a_retry_through_another_store_finds_the_original(database_url: str) -> None:
    first, second = await SqlEventStore.open(database_url), await SqlEventStore.open(database_url)
    try:
        original = await first.append(NewEvent("room", "message", {"n": 1}, user_id="ann", op_id="op-1"))
        # The second store has seen no conflict yet, so it inserts before it looks anything up.
        results = await second.append_many(
            [
                NewEvent("room", "message", {"n": 2}, user_id="ann", op_id="op-2"),
                NewEvent("room", "message", {"n": 1}, user_id="ann", op_id="op-1"),
                NewEvent("room", "message", {"n": 3}),
            ]
        )
        assert [(r.event.seq, r.new) for r in results] == [(2, True), (1, False), (3, True)]
        assert results[1].event == original.event
        assert [e.seq for e in await first.read("room")] == [1, 2, 3]
    finally:
        await first.close()
        await second.close()


async def test_waiting_for_another_processs_sqlite_lock_leaves_the_loop_free(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "collab.db"
    shutil.copyfile(sqlite_template, path)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    store = await SqlEventStore.open(f"sqlite+aiosqlite:///{path}")
    try:
        append = asyncio.create_task(store.append(NewEvent("room", "message")))
        # The writer tries for the lock every millisecond, in between the loop serves this store's
        # reads. Had it waited in SQLite's busy handler on the loop, the first read would come back only
        # after the writer's busy timeout, with the append failed by then. (bench/lock_wait_bench.py
        # measures the loop's turns.)
        for _ in range(10):
            assert await store.read("room") == []
            assert await store.head("room") == 0
        assert not append.done()
        blocker.execute("COMMIT")
        appended = await asyncio.wait_for(append, timeout=DEADLINE_SECONDS)
        assert appended.event.seq == 1
    finally:
        blocker.close()
        await store.close()


async def test_a_writer_waiting_for_sqlites_lock_takes_it_within_milliseconds_of_its_release(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25… ms between tries: a lock released at
    40, 60 or 80 ms was taken 13, 18 and 23 ms late, and every append waited that much more."""
    path = tmp_path / "collab.db"
    shutil.copyfile(sqlite_template, path)
    store = await SqlEventStore.open(f"sqlite+aiosqlite:///{path}")
    blocker = sqlite3.connect(path, isolation_level=None)
    loop = asyncio.get_running_loop()
    late: list[float] = []
    try:
        for held in (0.04, 0.06, 0.08, 0.05, 0.07):
            blocker.execute("BEGIN IMMEDIATE")
            released: list[float] = []

            def release(at: list[float] = released) -> None:
                blocker.execute("COMMIT")
                at.append(loop.time())

            loop.call_later(held, release)
            await asyncio.wait_for(store.append(NewEvent("room", "message")), timeout=DEADLINE_SECONDS)
            late.append(loop.time() - released[0])
    finally:
        blocker.close()
        await store.close()
    assert sorted(late)[len(late) // 2] < 0.008, late
