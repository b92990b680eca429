"""The search index (collab/store/search/) on both databases: kept with the log (PostgreSQL: in the append's
transaction; SQLite: caught up before any search), pruned with the events, built for an existing log by
migrations 0006 and 0007."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from collab.errors import StoreError
from collab.events import NewEvent
from collab.store.engine import make_engine
from collab.store.history import EventFilter, HistoryQueries
from collab.store.hours import SqliteHours
from collab.store.migrate import alembic_config
from collab.store.prune import Pruner
from collab.store.schema import channels, event_hours, events
from collab.store.search.queries import SearchFilter, SearchQueries
from collab.store.search.query import parse_text_query
from collab.store.search.writes import catch_up
from collab.store.sql import SqlEventStore


def said(channel: str, content: str, **fields: object) -> NewEvent:
    return NewEvent(channel, "message", {"content": content}, **fields)  # type: ignore[arg-type]


async def found(store: SqlEventStore, text: str | None = None, **where: object) -> list[tuple[str, int]]:
    query = parse_text_query(text) if text is not None else None
    hits = await SearchQueries(store.engine).page(SearchFilter(query, **where), limit=1000)  # type: ignore[arg-type]
    return [(hit.event.channel, hit.event.seq) for hit in hits]


async def index_rows(store: SqlEventStore, word: str | None = None) -> int:
    """Rows of the index (with `word`: holding it), counted in the index alone (on SQLite, after it has
    caught up with the log)."""
    # SQLite's FTS5 table keeps no content: it is counted through the term every row has.
    count = "SELECT count(*) FROM event_search"
    if store.engine.dialect.name == "sqlite":
        async with store.engine.begin() as conn:
            await conn.run_sync(catch_up)
        count += f" WHERE event_search MATCH '{f'words : {word}' if word else 'facets : any'}'"
    elif word:
        count += f" WHERE terms @@ '{word}'::tsquery"
    async with store.engine.connect() as conn:
        return (await conn.execute(sa.text(count))).scalar_one()


async def test_a_committed_event_is_found_by_its_words(store: SqlEventStore) -> None:
    await store.append(said("general", "The invoice is late"))
    await store.append_many([said("general", "nothing to see"), said("sales", "Invoice #12 paid")])

    assert await found(store, "invoice") == [("sales", 1), ("general", 1)]
    assert await found(store, "late invoice") == [("general", 1)]
    assert await found(store, "nowhere") == []


async def test_events_without_typed_text_are_not_indexed(store: SqlEventStore) -> None:
    await store.append_many(
        [
            NewEvent("general", "message", {"content": "words"}),
            NewEvent("general", "ping", {"n": 1}),
            NewEvent("doc:notes", "update", None, b"\x01\x02"),
            NewEvent("general", "message", {"content": "  ...  "}),
        ]
    )
    assert await index_rows(store) == 1


async def test_a_rolled_back_batch_leaves_no_index_rows(store: SqlEventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    await store.append(said("general", "kept words"))
    broke = OSError("the connection broke before the commit")
    if store.dialect == "sqlite":
        write = store.writer._write_sqlite

        def write_then_fail(conn, batch, look_up):  # type: ignore[no-untyped-def]
            write(conn, batch, look_up)  # the events and their index rows, in the transaction
            raise broke

        monkeypatch.setattr(store.writer, "_write_sqlite", write_then_fail)
    else:
        write_postgres = store.writer._write_postgres

        async def write_then_fail_postgres(driver, batch, look_up):  # type: ignore[no-untyped-def]
            await write_postgres(driver, batch, look_up)
            raise broke

        monkeypatch.setattr(store.writer, "_write_postgres", write_then_fail_postgres)
    with pytest.raises(StoreError):
        await store.append(said("general", "lost words"))
    monkeypatch.undo()

    assert await found(store, "lost") == []
    assert await found(store, "words") == [("general", 1)]
    assert await index_rows(store) == 1
    # The next append takes the seq the failed one did not keep, and is found.
    await store.append(said("general", "found words"))
    assert await found(store, "words") == [("general", 2), ("general", 1)]


async def test_a_batch_written_again_for_a_retried_op_id_is_indexed_once(store: SqlEventStore) -> None:
    # The first try of the second batch conflicts on the retried op id and is rolled back with its index
    # rows; the second try (with the lookup) stores and indexes the new event once.
    await store.append(said("general", "first words", user_id="u1", op_id="op-1"))
    await store.append_many(
        [
            said("general", "second words", user_id="u1", op_id="op-2"),
            said("general", "again", user_id="u1", op_id="op-1"),
        ]
    )
    assert await found(store, "words") == [("general", 2), ("general", 1)]
    assert await found(store, "again") == []
    assert await index_rows(store) == 2


async def test_a_conditional_append_that_is_refused_indexes_nothing(store: SqlEventStore) -> None:
    await store.append(said("kanban:b", "first"))
    with pytest.raises(Exception, match="decide again"):
        await store.append_at_head([NewEvent("kanban:b", "card_added", {"title": "stale card"})], expected_head=0)
    await store.append_at_head([NewEvent("kanban:b", "card_added", {"title": "fresh card"})], expected_head=1)
    assert await found(store, "card") == [("kanban:b", 2)]


async def test_pruned_events_are_not_found(store: SqlEventStore) -> None:
    old = datetime.now(UTC) - timedelta(days=30)
    await store.append_many([said("general", f"old note {n}", created_at=old) for n in range(3)])
    await store.append_many([said("general", "new note"), said("other", "old note elsewhere", created_at=old)])

    pruner = Pruner(store.engine, batch=2)  # several transactions
    first, last = await pruner.cut("general", datetime.now(UTC) - timedelta(days=1))
    assert await pruner.delete_through("general", first, last) == 3

    assert await found(store, "note") == [("other", 1), ("general", 4)]
    assert await index_rows(store) == 2
    # The index itself no longer holds the pruned events' words (SQLite's contentless table was given
    # back the very terms it indexed), only the kept event's elsewhere.
    assert await index_rows(store, word="old") == 1


async def test_a_time_window_finds_what_was_stored_in_it(store: SqlEventStore) -> None:
    base = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    await store.append_many(
        [
            said("general", f"note at {minutes} minutes", created_at=base + timedelta(minutes=minutes))
            for minutes in (0, 59, 60, 61, 600)
        ]
    )
    # Stored late, with an old time: its hour's range widens, and the window still finds it.
    await store.append(said("general", "note from the past", created_at=base + timedelta(minutes=30)))

    window = {"since": base + timedelta(minutes=30), "until": base + timedelta(minutes=61)}
    assert await found(store, "note", **window) == [("general", 6), ("general", 3), ("general", 2)]
    assert await found(store, None, since=base + timedelta(minutes=600)) == [("general", 5)]
    assert await found(store, None, until=base) == []
    assert await found(store, "note", since=base + timedelta(days=1)) == []


async def test_every_writer_widens_only_its_own_hours(database_url: str) -> None:
    moment = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    stores = [await SqlEventStore.open(database_url) for _ in range(2)]
    try:
        for n, store in enumerate(stores):
            await store.append(said("general", f"note {n}", created_at=moment))
        async with stores[0].engine.connect() as conn:
            rows = (await conn.execute(sa.select(event_hours).order_by(event_hours.c.first_id))).all()
    finally:
        for store in stores:
            await store.close()
    # SQLite's writer reserves ids ahead in its rows (SqliteHours): a range may be wider, never narrower.
    ahead = SqliteHours.RESERVE if database_url.startswith("sqlite") else 0
    assert [(row.hour, row.writer, row.first_id, row.last_id) for row in rows] == [
        ("2026-11-24T09", stores[0].writer.writer_id, 1, 1 + ahead),
        ("2026-11-24T09", stores[1].writer.writer_id, 2, 2 + ahead),
    ]


async def test_hours_rows_cover_every_committed_id_while_most_appends_write_none(
    store: SqlEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's writer writes an hours row only when its ids leave what its rows cover; a transaction
    that fails after planning its row leaves nothing believed written."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL widens the hours in every batch's statement")
    monkeypatch.setattr(SqliteHours, "RESERVE", 4)
    moment = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    writes: list[int] = []
    real_widen = SqliteHours.widen

    def counting_widen(self: SqliteHours, spans: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        rows = real_widen(self, spans)
        writes.append(len(rows))
        return rows

    monkeypatch.setattr(SqliteHours, "widen", counting_widen)
    for n in range(12):
        await store.append(said("general", f"note {n}", created_at=moment))
    assert writes == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]  # ids 1, 6 and 11 reach past the rows

    # A batch that plans its row and then fails commits nothing: the next one writes the row.
    hours = store.writer._sqlite_hours
    hours.begin()
    hours.widen({"2026-11-24T09": (20, 20)})
    hours.begin()  # the failed transaction's retry or successor starts
    # The rows cover ids 1-15 (written at ids 1, 6 and 11); the failed plan's 1-24 does not count.
    assert hours.widen({"2026-11-24T09": (13, 13)}) == {}
    assert hours.widen({"2026-11-24T09": (16, 16)}) == {"2026-11-24T09": (1, 20)}
    hours.begin()

    for n in range(12, 30):
        await store.append(said("general", f"note {n}", created_at=moment))
    async with store.engine.connect() as conn:
        ((first, last),) = (await conn.execute(sa.select(event_hours.c.first_id, event_hours.c.last_id))).all()
    assert first == 1 and last >= 30
    window = {"since": moment, "until": moment + timedelta(minutes=1)}
    assert len(await found(store, "note", **window)) == 30


async def test_the_migration_indexes_an_existing_log(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "0005")
    stored_at = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
    engine = make_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                channels.insert(),
                [
                    {"name": "general", "kind": "chat", "head_seq": 2, "created_at": stored_at},
                    {"name": "kanban:b", "kind": "kanban", "head_seq": 1, "created_at": stored_at},
                ],
            )
            await conn.execute(
                events.insert(),
                [
                    {
                        "channel": "general",
                        "seq": 1,
                        "type": "message",
                        "data": {"content": "Café au lait"},
                        "created_at": stored_at,
                        "user_id": "ann",
                    },
                    {
                        "channel": "kanban:b",
                        "seq": 1,
                        "type": "card_added",
                        "data": {"title": "Lait", "labels": ["café"]},
                        "created_at": stored_at,
                        "user_id": "bob",
                    },
                    {
                        "channel": "general",
                        "seq": 2,
                        "type": "ping",
                        "data": {"n": 1},
                        "created_at": stored_at,
                        "user_id": "ann",
                    },
                ],
            )
    finally:
        await engine.dispose()
    await asyncio.to_thread(command.upgrade, config, "head")

    store = await SqlEventStore.open(empty_database_url)
    try:
        assert await found(store, "CAFE") == [("kanban:b", 1), ("general", 1)]
        assert await found(store, "lait", users=("ann",)) == [("general", 1)]
        assert await found(store, "lait", since=stored_at, until=stored_at + timedelta(seconds=1)) == [
            ("kanban:b", 1),
            ("general", 1),
        ]
        assert await index_rows(store) == 2
        # Appends after the migration are indexed as before.
        await store.append(said("general", "café crème"))
        assert await found(store, "cafe") == [("general", 3), ("kanban:b", 1), ("general", 1)]
    finally:
        await store.close()
    await asyncio.to_thread(command.downgrade, config, "0005")


CORPUS = [
    said("general", "The late invoice from ACME", user_id="ann"),  # general 1
    said("general", "invoice late? never", user_id="bob"),  # general 2
    said("sales", "Café crème, s'il vous plaît", user_id="ann"),  # sales 1
    NewEvent("kanban:b", "card_added", {"title": "Invoicing run", "labels": ["late"]}, user_id="bob"),  # kanban:b 1
    NewEvent("dm:ann:bob", "private", {"content": "the invoice is late"}, user_id="ann"),  # dm:ann:bob 1
    NewEvent("news", "event", {"event": "bill", "data": {"lines": ["late fee"], "n": 3}}, user_id="svc"),  # news 1
    said("general", "INVOICES, invoiced, invoice", user_id="cyd"),  # general 3
]
# The same answers from both databases, newest first: (text, filter, hits).
SEARCHES: list[tuple[str | None, dict[str, object], list[tuple[str, int]]]] = [
    ("invoice", {}, [("general", 3), ("dm:ann:bob", 1), ("general", 2), ("general", 1)]),
    ("invoice", {"exclude_dms": True}, [("general", 3), ("general", 2), ("general", 1)]),
    ("invoic*", {"exclude_dms": True}, [("general", 3), ("kanban:b", 1), ("general", 2), ("general", 1)]),
    ('"late invoice"', {}, [("general", 1)]),
    ('"invoice late"', {}, [("general", 2)]),
    ("late invoice", {}, [("dm:ann:bob", 1), ("general", 2), ("general", 1)]),
    ('"invoice is lat"*', {}, [("dm:ann:bob", 1)]),
    ("CAFE PLAIT", {}, [("sales", 1)]),
    ("late", {"types": ("card_added", "event")}, [("news", 1), ("kanban:b", 1)]),
    ("late", {"users": ("bob",)}, [("kanban:b", 1), ("general", 2)]),
    ("late", {"channels": ("general", "news")}, [("news", 1), ("general", 2), ("general", 1)]),
    ("fee", {}, [("news", 1)]),
    ("bill", {}, []),  # a published event's name
    (None, {"users": ("ann",), "exclude_dms": True}, [("sales", 1), ("general", 1)]),
    ("invoice", {"channels": ("general",), "after": 1, "before": 3}, [("general", 2)]),
    ("acme", {"channels": ("general",), "after": 1}, []),
]


@pytest.mark.parametrize(("text", "where", "hits"), SEARCHES)
async def test_both_databases_give_the_same_answers(
    store: SqlEventStore, text: str | None, where: dict[str, object], hits: list[tuple[str, int]]
) -> None:
    for event in CORPUS:  # one by one: ids in this order
        await store.append(event)
    assert await found(store, text, **where) == hits
    query = parse_text_query(text) if text is not None else None
    search = SearchQueries(store.engine)
    oldest_first = await search.page(SearchFilter(query, **where), newest_first=False)  # type: ignore[arg-type]
    assert [(hit.event.channel, hit.event.seq) for hit in oldest_first] == hits[::-1]
    # Pages of one, by id: the same hits, none twice.
    paged: list[tuple[str, int]] = []
    below = None
    while True:
        page = await search.page(SearchFilter(query, **where), below=below, limit=1)  # type: ignore[arg-type]
        if not page:
            break
        paged.append((page[0].event.channel, page[0].event.seq))
        below = page[0].id
    assert paged == hits


async def test_a_channels_time_window_reads_the_window_and_finds_every_event_in_it(store: SqlEventStore) -> None:
    """The history's window (collab/store/history.py) narrowed to seqs through `event_hours`: whatever the
    order the times came in, it finds exactly the events stored in the window, with or without text."""
    chooser = random.Random(7)
    base = datetime(2026, 11, 24, tzinfo=UTC)
    stamps: dict[tuple[str, int], datetime] = {}
    for n in range(300):
        channel = ("a", "b")[n % 2]
        # Mostly in order, an hour apart on average; some late, with a time of long ago.
        at = base + timedelta(minutes=20 * n + chooser.randrange(40))
        if n % 37 == 0:
            at = base - timedelta(days=400)
        if n == 150:
            at = datetime(999, 5, 1, 7, 30, tzinfo=UTC)  # a year of three digits: its hour written the same
        kind, data = ("message", {"content": f"note {n}"}) if n % 3 else ("card_moved", {"card": "k"})
        appended = await store.append(NewEvent(channel, kind, data, created_at=at))
        stamps[(channel, appended.event.seq)] = at
    queries = HistoryQueries(store.engine)
    windows = [
        (base + timedelta(hours=h), base + timedelta(hours=h + w)) for h, w in ((0, 1), (5, 3), (30, 10), (99, 2))
    ]
    windows += [(base - timedelta(days=401), base - timedelta(days=399)), (datetime(999, 5, 1, tzinfo=UTC), base)]
    windows += [(base + timedelta(days=9), base + timedelta(days=10))]  # nothing stored then
    for since, until in windows:
        for channel in ("a", "b"):
            expected = sorted(seq for (c, seq), at in stamps.items() if c == channel and since <= at < until)
            got = [e.seq for e in await queries.page(channel, EventFilter(since=since, until=until), limit=1000)]
            assert got == expected, (channel, since, until)
            only_since = [e.seq for e in await queries.page(channel, EventFilter(since=since), limit=1000)]
            assert only_since == sorted(seq for (c, seq), at in stamps.items() if c == channel and at >= since)
            only_until = [e.seq for e in await queries.page(channel, EventFilter(until=until), limit=1000)]
            assert only_until == sorted(seq for (c, seq), at in stamps.items() if c == channel and at < until)
