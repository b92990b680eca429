"""The batch writer (collab/store/writer.py) when the database refuses one event of a batch: that event
fails alone, its neighbours commit with gapless seqs, and nothing of the refused one is kept. On SQLite
the batch runs on the driver's connection, so this is also the test that a driver's error still leaves
as the engine's error."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from collab.errors import StoreError, StoreUnavailable
from collab.events import Appended, NewEvent
from collab.store.schema import channels, events
from collab.store.search.queries import SearchFilter, SearchQueries
from collab.store.search.query import parse_text_query
from collab.store.sql import SqlEventStore

_SQLITE_TRIGGER = (
    "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.type = 'refused'"
    " BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
)
_POSTGRES_TRIGGER = (
    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.type = 'refused' THEN"
    " RAISE EXCEPTION 'refused by a trigger'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse()",
)


async def refuse_type_refused(store: SqlEventStore) -> None:
    """Make the database itself refuse events of type `refused` (a trigger): no check of ours sees it."""
    async with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            await conn.exec_driver_sql(_SQLITE_TRIGGER)
        else:
            for statement in _POSTGRES_TRIGGER:
                await conn.exec_driver_sql(statement)


async def test_an_event_the_database_refuses_fails_alone_and_its_batch_commits(store: SqlEventStore) -> None:
    await refuse_type_refused(store)
    said = [NewEvent("general", "message", {"content": f"word{n} kept"}) for n in range(6)]
    refused = NewEvent("general", "refused", {"content": "word refused"})
    # One loop turn: the writer takes all seven as one batch.
    results = await asyncio.gather(
        *(store.append(event) for event in [*said[:3], refused, *said[3:]]), return_exceptions=True
    )

    error = results.pop(3)
    assert isinstance(error, StoreError)
    assert "refused by a trigger" not in str(error)  # the database's words are for the log alone
    assert all(isinstance(result, Appended) and result.new for result in results)
    assert [result.event.seq for result in results] == [1, 2, 3, 4, 5, 6]  # type: ignore[union-attr]
    async with store.engine.connect() as conn:
        stored = (await conn.execute(sa.select(events.c.seq, events.c.data).order_by(events.c.seq))).all()
        head = (await conn.execute(sa.select(channels.c.head_seq).where(channels.c.name == "general"))).scalar()
    assert [(seq, data["content"]) for seq, data in stored] == [(n + 1, f"word{n} kept") for n in range(6)]
    assert head == 6
    hits = await SearchQueries(store.engine).page(SearchFilter(parse_text_query("kept")), limit=100)
    assert sorted(hit.event.seq for hit in hits) == [1, 2, 3, 4, 5, 6]
    assert await SearchQueries(store.engine).page(SearchFilter(parse_text_query("refused")), limit=100) == []
    # The writer goes on: the next append takes the next seq.
    after = await store.append(NewEvent("general", "message", {"content": "later"}))
    assert after.event.seq == 7


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_sqlite_error_outside_any_event_fails_the_whole_batch_as_the_engines_error(
    store: SqlEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An error of the driver's that is no event's (its connection closed under it) comes out as the
    # engine's error, not sqlite3's own; the writer then opens a new connection and goes on.
    await store.append(NewEvent("general", "message", {"content": "first"}))
    sqlite_writer = store.writer._sqlite
    assert sqlite_writer is not None
    driver = sqlite_writer._connection().connection.driver_connection
    driver.close()
    with pytest.raises(StoreError):
        await store.append(NewEvent("general", "message", {"content": "second"}))
    again = await store.append(NewEvent("general", "message", {"content": "third"}))
    assert again.event.seq == 2


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_postgres_writer_whose_connection_is_killed_fails_unavailable_then_reconnects(
    store: SqlEventStore,
) -> None:
    # The writer holds one connection (collab.store.pg_writer): killed under it (a database restart, a
    # proxy that drops it), the batch then in flight fails `unavailable` as the engine's error, nothing
    # of it is stored, and the next batch runs on a new connection from the pool.
    await store.append(NewEvent("general", "message", {"content": "first"}))
    postgres_writer = store.writer._postgres
    assert postgres_writer is not None
    driver = await postgres_writer._connection()
    async with store.engine.connect() as conn:
        killed = await conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": driver.get_server_pid()})
    assert killed
    with pytest.raises(StoreUnavailable):
        await store.append(NewEvent("general", "message", {"content": "lost"}))
    again = await store.append(NewEvent("general", "message", {"content": "third"}))
    assert again.event.seq == 2
    assert [event.data["content"] for event in await store.read("general")] == ["first", "third"]
    assert await postgres_writer._connection() is not driver


async def test_the_callers_of_one_batch_resume_in_seq_order(store: SqlEventStore) -> None:
    # One process publishes each event as its caller resumes (collab.realtime.broker.InProcessBroker has
    # no sequencer), and a socket drops a seq below one it was sent: so callers must resume in the order
    # of their seqs, an `append_many` among them as much as a single `append`.
    resumed: list[int] = []

    async def one(content: str) -> None:
        appended = await store.append(NewEvent("general", "message", {"content": content}))
        resumed.append(appended.event.seq)

    async def many(*contents: str) -> None:
        appended = await store.append_many([NewEvent("general", "message", {"content": c}) for c in contents])
        resumed.extend(result.event.seq for result in appended)

    # One loop turn: one batch, seqs in the order of the calls.
    await asyncio.gather(one("a"), many("b"), one("c"), many("d", "e"), one("f"))
    assert resumed == [1, 2, 3, 4, 5, 6]
