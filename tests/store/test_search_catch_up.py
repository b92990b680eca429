"""SQLite's search index follows the log (collab/store/search/writes.py): an append writes nothing for it;
the writer indexes what it committed once enough has gathered or soon after, and at shutdown; a search or
a prune catches up first, so neither misses nor mistakes an event; a prune that removes the newest events
leaves the next ones (which SQLite gives the same ids again) to be indexed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from support.waiting import eventually

from collab.events import NewEvent
from collab.store.engine import make_engine
from collab.store.prune import Pruner
from collab.store.search.catch_up import SearchCatchUp
from collab.store.search.queries import SearchFilter, SearchQueries
from collab.store.search.query import parse_text_query
from collab.store.sql import SqlEventStore

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def said(channel: str, content: str, **fields: object) -> NewEvent:
    return NewEvent(channel, "message", {"content": content}, **fields)  # type: ignore[arg-type]


def schedule(store: SqlEventStore) -> SearchCatchUp:
    assert store.writer.search_catch_up is not None
    return store.writer.search_catch_up


BEHIND = "SELECT count(*) FROM events WHERE id > (SELECT last_id FROM event_search_progress)"


async def behind_and_indexed(engine: sa.ext.asyncio.AsyncEngine) -> tuple[int, int]:
    """(events above the index's mark, rows in FTS5), read without catching up."""
    async with engine.connect() as conn:
        behind = (await conn.exec_driver_sql(BEHIND)).scalar_one()
        indexed = (
            await conn.exec_driver_sql("SELECT count(*) FROM event_search WHERE event_search MATCH 'facets : any'")
        ).scalar_one()
    return behind, indexed


async def found(store: SqlEventStore, text: str) -> list[int]:
    hits = await SearchQueries(store.engine).page(SearchFilter(parse_text_query(text)), limit=100)
    return [hit.event.seq for hit in hits]


async def test_an_append_writes_nothing_for_the_index_and_a_search_catches_up_first(store: SqlEventStore) -> None:
    schedule(store).CATCH_UP_AFTER = 3600  # only the search catches up here
    await store.append(said("general", "fresh words"))
    assert await behind_and_indexed(store.engine) == (1, 0)

    assert await found(store, "fresh") == [1]
    assert await behind_and_indexed(store.engine) == (0, 1)


async def test_the_writer_catches_up_once_enough_events_are_behind(store: SqlEventStore) -> None:
    schedule(store).CATCH_UP_AT, schedule(store).CATCH_UP_AFTER = 5, 3600
    await store.append_many([said("general", f"word{n}") for n in range(4)])
    assert await behind_and_indexed(store.engine) == (4, 0)
    await store.append(said("general", "fifth"))
    await eventually(lambda: behind_and_indexed(store.engine), lambda counts: counts == (0, 5), "the writer's catch-up")


async def test_the_writer_catches_up_with_a_quiet_channel_soon(store: SqlEventStore) -> None:
    schedule(store).CATCH_UP_AFTER = 0.05
    await store.append(said("general", "alone"))
    await eventually(lambda: behind_and_indexed(store.engine), lambda counts: counts == (0, 1), "the writer's catch-up")


async def test_an_event_without_text_moves_the_mark_and_adds_no_row(store: SqlEventStore) -> None:
    schedule(store).CATCH_UP_AFTER = 3600
    await store.append(NewEvent("doc:notes", "update", None, b"\x01\x02"))
    await store.append(said("general", "words"))
    assert await found(store, "words") == [1]
    assert await behind_and_indexed(store.engine) == (0, 1)


async def test_a_prune_catches_up_before_it_removes_index_rows(store: SqlEventStore) -> None:
    schedule(store).CATCH_UP_AFTER = 3600
    old = datetime.now(UTC) - timedelta(days=30)
    await store.append_many([said("general", f"old note {n}", created_at=old) for n in range(3)])
    await store.append(said("general", "new note"))
    assert (await behind_and_indexed(store.engine))[0] == 4

    pruner = Pruner(store.engine, batch=2)
    first, last = await pruner.cut("general", datetime.now(UTC) - timedelta(days=1))
    assert await pruner.delete_through("general", first, last) == 3

    assert await behind_and_indexed(store.engine) == (0, 1)
    async with store.engine.begin() as conn:
        # FTS5 checks its own structure: a contentless row deleted without being held would corrupt it.
        await conn.execute(sa.text("INSERT INTO event_search (event_search, rank) VALUES ('integrity-check', 0)"))
    assert await found(store, "note") == [4]
    assert await found(store, "old") == []


async def test_events_stored_after_a_prune_of_the_newest_are_indexed(store: SqlEventStore) -> None:
    schedule(store).CATCH_UP_AFTER = 3600
    old = datetime.now(UTC) - timedelta(days=30)
    await store.append(said("general", "kept forever"))  # id 1
    await store.append_many([said("sales", f"old deal {n}", created_at=old) for n in range(3)])  # ids 2-4
    assert await found(store, "deal") == [3, 2, 1]

    pruner = Pruner(store.engine)
    first, last = await pruner.cut("sales", datetime.now(UTC) - timedelta(days=1))
    assert await pruner.delete_through("sales", first, last) == 3
    # SQLite gives the next event id 2 again, below the mark the catch-up left at 4.
    await store.append(said("sales", "new deal"))
    async with store.engine.connect() as conn:
        assert (await conn.exec_driver_sql("SELECT max(id) FROM events")).scalar_one() == 2

    assert await found(store, "deal") == [4]
    assert await found(store, "kept") == [1]


async def test_events_behind_at_shutdown_are_indexed(database_url: str) -> None:
    store = await SqlEventStore.open(database_url)
    schedule(store).CATCH_UP_AFTER = 3600
    await store.append(said("general", "last words"))
    await store.close()

    engine = make_engine(database_url)
    try:
        assert await behind_and_indexed(engine) == (0, 1)
    finally:
        await engine.dispose()
