"""The reads a burst of joins makes (channel records, heads, read positions), and the rooms it makes,
answer while the pool has no connection to give: on SQLite they run on the loop's thread (the reads on
a connection of their own, the rooms on the writer's). And a pool that gives no connection in time is
`unavailable` (try again later), not a refusal."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import exc as sa_exc

from collab.errors import StoreUnavailable
from collab.events import NewEvent
from collab.store.errors import translate
from collab.store.positions import ReadPositions
from collab.store.sql import SqlEventStore


async def _take_every_pool_connection(store: SqlEventStore, stack: AsyncExitStack) -> None:
    pool = store.engine.pool
    for _ in range(pool.size() + pool._max_overflow):  # type: ignore[attr-defined]
        await stack.enter_async_context(store.engine.connect())


async def test_a_joins_reads_answer_with_the_pool_exhausted_on_sqlite(store: SqlEventStore, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL reads through the pool (its reads need no hop to a thread)")
    await store.create_channel("storm", created_by="alice")
    await store.append(NewEvent("storm", "message", {"content": "hi"}, user_id="alice"))
    positions = ReadPositions(store.engine, read_small=store.read_small)
    await positions.mark("storm", "alice", 1)
    async with AsyncExitStack() as stack:
        await _take_every_pool_connection(store, stack)
        # Through the pool these would wait for its timeout (30 s): on the loop's thread they answer now.
        async with asyncio.timeout(5):
            info, head, read = await asyncio.gather(
                store.get_channel("storm"), store.head("storm"), positions.of_user("alice")
            )
    assert (info.name if info else None, info.head if info else None, head, read) == ("storm", 1, 1, {"storm": 1})


async def test_a_small_read_that_finds_sqlite_busy_reads_through_the_pool(
    store: SqlEventStore, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("only SQLite reads on the loop's thread")
    await store.create_channel("busy-room", created_by="alice")
    reader = store.writer.sqlite_connection
    assert reader is not None
    asked = []

    def busy(statement: object, parameters: object = None) -> None:
        asked.append(parameters)
        return None  # what read_now answers when SQLite says busy

    monkeypatch.setattr(reader, "read_now", busy)
    info = await store.get_channel("busy-room")
    assert info is not None and info.created_by == "alice"
    assert asked, "the loop's-thread read was not tried first"


async def test_same_answers_through_either_way(store: SqlEventStore) -> None:
    # The contract: whichever way a small read goes, it answers like any other read.
    for name in ("a-room", "b-room"):
        await store.create_channel(name, created_by="bob")
    await store.append(NewEvent("b-room", "message", {"content": "x"}, user_id="bob"))
    assert await store.heads(["a-room", "b-room", "no-room"]) == {"a-room": 0, "b-room": 1, "no-room": 0}
    found = await asyncio.gather(*(store.get_channel(name) for name in ("a-room", "b-room", "no-room")))
    assert [(i.name, i.head) if i else None for i in found] == [("a-room", 0), ("b-room", 1), None]


def test_a_pool_that_gives_no_connection_in_time_is_unavailable() -> None:
    error = sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00")
    translated = translate(error)
    assert isinstance(translated, StoreUnavailable)
    assert "try again" in str(translated)


async def test_a_record_read_by_name_is_the_record_listed(store: SqlEventStore) -> None:
    # On SQLite a join's record comes from the driver, converted column by column (collab.store.keyed):
    # it must be the record every other read gives, the booleans, times and members included.
    await store.create_channel("open-room", created_by="ann")
    await store.create_channel("closed-room", created_by="ann", private=True, members=["ann", "bob"])
    listed = {info.name: info for info in await store.list_channels()}
    for name in ("open-room", "closed-room"):
        one = await store.get_channel(name)
        assert one == listed[name]
        assert isinstance(one.private, bool) and one.created_at.tzinfo is not None
    assert listed["closed-room"].private and listed["closed-room"].members == frozenset({"ann", "bob"})


async def test_a_channel_is_created_on_sqlite_with_the_pool_exhausted(store: SqlEventStore, database_url: str) -> None:
    # A storm of joins making rooms: on SQLite each room is made on the writer's connection, on the
    # loop's thread (no checkout, no hop to a pool thread that takes the GIL from the loop).
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL creates channels through the pool")
    async with AsyncExitStack() as stack:
        await _take_every_pool_connection(store, stack)
        async with asyncio.timeout(5):
            made = await store.create_channel("storm-room", created_by="alice", private=True, members=["alice"])
            # Made while the writer commits a batch: one transaction at a time on that connection.
            appended, other = await asyncio.gather(
                store.append(NewEvent("storm-room", "message", {"content": "hi"}, user_id="alice")),
                store.create_channel("other-room", created_by="bob"),
            )
    assert (made.name, made.private, made.members) == ("storm-room", True, frozenset({"alice"}))
    assert appended.event.seq == 1 and other.name == "other-room"
    assert [info.name for info in await store.list_channels()] == ["other-room", "storm-room"]
