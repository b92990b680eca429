"""SQLite's staged search index rows (collab/store/search/writes.py): an append stages its row in its own
transaction; the writer merges the rows into FTS5 once enough have gathered or soon after the first; a
search or a prune merges them first, so neither misses nor mistakes a staged row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from support.waiting import eventually

from collab.events import NewEvent
from collab.store.prune import Pruner
from collab.store.search.queries import SearchFilter, SearchQueries
from collab.store.search.query import parse_text_query
from collab.store.search.staging import StagedIndex
from collab.store.sql import SqlEventStore

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def said(channel: str, content: str, **fields: object) -> NewEvent:
    return NewEvent(channel, "message", {"content": content}, **fields)  # type: ignore[arg-type]


def staging(store: SqlEventStore) -> StagedIndex:
    assert store.writer.staged_index is not None
    return store.writer.staged_index


async def staged_and_merged(store: SqlEventStore) -> tuple[int, int]:
    """(rows staged, rows in FTS5), read without merging."""
    async with store.engine.connect() as conn:
        staged = (await conn.exec_driver_sql("SELECT count(*) FROM event_search_pending")).scalar_one()
        merged = (
            await conn.exec_driver_sql("SELECT count(*) FROM event_search WHERE event_search MATCH 'facets : any'")
        ).scalar_one()
    return staged, merged


async def found(store: SqlEventStore, text: str) -> list[int]:
    hits = await SearchQueries(store.engine).page(SearchFilter(parse_text_query(text)), limit=100)
    return [hit.event.seq for hit in hits]


async def test_an_appended_row_is_staged_and_a_search_merges_it_first(store: SqlEventStore) -> None:
    staging(store).MERGE_AFTER = 3600  # only the search merges here
    await store.append(said("general", "staged words"))
    assert await staged_and_merged(store) == (1, 0)

    assert await found(store, "staged") == [1]
    assert await staged_and_merged(store) == (0, 1)


async def test_the_writer_merges_once_enough_rows_are_staged(store: SqlEventStore) -> None:
    staging(store).MERGE_AT, staging(store).MERGE_AFTER = 5, 3600
    await store.append_many([said("general", f"word{n}") for n in range(4)])
    assert await staged_and_merged(store) == (4, 0)
    # The batch that brings them to MERGE_AT merges them in its own transaction.
    await store.append(said("general", "fifth"))
    assert await staged_and_merged(store) == (0, 5)
    # A batch as big as MERGE_AT goes straight into FTS5.
    await store.append_many([said("general", f"more{n}") for n in range(5)])
    assert await staged_and_merged(store) == (0, 10)


async def test_the_writer_merges_a_quiet_channels_rows_soon(store: SqlEventStore) -> None:
    staging(store).MERGE_AFTER = 0.05
    await store.append(said("general", "alone"))
    await eventually(lambda: staged_and_merged(store), lambda counts: counts == (0, 1), "the writer's merge")


async def test_a_prune_merges_staged_rows_before_it_removes_index_rows(store: SqlEventStore) -> None:
    staging(store).MERGE_AFTER = 3600
    old = datetime.now(UTC) - timedelta(days=30)
    await store.append_many([said("general", f"old note {n}", created_at=old) for n in range(3)])
    await store.append(said("general", "new note"))
    assert (await staged_and_merged(store))[0] == 4

    pruner = Pruner(store.engine, batch=2)
    first, last = await pruner.cut("general", datetime.now(UTC) - timedelta(days=1))
    assert await pruner.delete_through("general", first, last) == 3

    assert await staged_and_merged(store) == (0, 1)
    async with store.engine.begin() as conn:
        # FTS5 checks its own structure: a contentless row deleted without being held would corrupt it.
        await conn.execute(sa.text("INSERT INTO event_search (event_search, rank) VALUES ('integrity-check', 0)"))
    assert await found(store, "note") == [4]
    assert await found(store, "old") == []


async def test_rows_staged_at_shutdown_are_merged(database_url: str) -> None:
    store = await SqlEventStore.open(database_url)
    staging(store).MERGE_AFTER = 3600
    await store.append(said("general", "last words"))
    await store.close()

    store = await SqlEventStore.open(database_url)
    try:
        assert await staged_and_merged(store) == (0, 1)
    finally:
        await store.close()
