"""The `EventStore` contract (collab/store/base.py), run on every dialect through `database_url`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from support.stores import message

from collab.errors import Conflict, StoreError
from collab.events import NewEvent, Snapshot
from collab.store.base import EventStore
from collab.store.sql import SqlEventStore

# -- appending and reading ----------------------------------------------------------------------


async def test_seqs_start_at_one_and_grow_by_one_per_channel(store: EventStore) -> None:
    first = [await store.append(message("a", n)) for n in range(3)]
    other = await store.append(message("b"))
    more = await store.append_many([message("a", 3), message("b", 1), message("a", 4)])

    assert [r.event.seq for r in first] == [1, 2, 3]
    assert other.event.seq == 1
    assert [(r.event.channel, r.event.seq) for r in more] == [("a", 4), ("b", 2), ("a", 5)]
    assert all(r.new for r in [*first, other, *more])
    assert [e.data["n"] for e in await store.read("a")] == [0, 1, 2, 3, 4]


async def test_append_returns_what_read_gives_back(store: EventStore) -> None:
    appended = await store.append(
        NewEvent("room", "message", {"content": "hi"}, user_id="u1", nickname="Ann", op_id="op-1")
    )
    assert [appended.event] == await store.read("room")


async def test_calls_on_one_channel_get_seqs_in_call_order(store: EventStore) -> None:
    results = await asyncio.gather(*(store.append(message("room", n)) for n in range(50)))
    assert [r.event.seq for r in results] == list(range(1, 51))
    assert [e.data["n"] for e in await store.read("room")] == list(range(50))


async def test_a_batch_larger_than_max_batch_stays_in_order(database_url: str) -> None:
    store = SqlEventStore(_engine(database_url), max_batch=7)
    store.start()
    try:
        results = await store.append_many([message("room", n) for n in range(100)])
    finally:
        await store.close()
    assert [r.event.seq for r in results] == list(range(1, 101))


def _engine(url: str):  # type: ignore[no-untyped-def]
    from collab.store.engine import make_engine

    return make_engine(url)


async def test_read_ranges(store: EventStore) -> None:
    await store.append_many([message("room", n) for n in range(1, 11)])

    def seqs(events: list) -> list[int]:  # type: ignore[type-arg]
        return [e.seq for e in events]

    assert seqs(await store.read("room")) == list(range(1, 11))
    assert seqs(await store.read("room", after=7)) == [8, 9, 10]
    assert seqs(await store.read("room", before=4)) == [1, 2, 3]
    assert seqs(await store.read("room", after=2, before=6)) == [3, 4, 5]
    assert seqs(await store.read("room", after=2, limit=3)) == [3, 4, 5]
    assert seqs(await store.read("room", after=8, limit=5)) == [9, 10]
    assert seqs(await store.read("room", after=10)) == []
    assert seqs(await store.read("room", after=3, before=4)) == []
    assert await store.read("nowhere") == []


async def test_head_heads_and_first_seq(store: EventStore) -> None:
    assert await store.head("room") == 0
    assert await store.first_seq("room") == 1
    await store.append_many([message("room", n) for n in range(4)] + [message("other")])

    assert await store.head("room") == 4
    assert await store.first_seq("room") == 1
    assert await store.heads(["room", "other", "unknown", "room"]) == {"room": 4, "other": 1, "unknown": 0}
    assert await store.heads([]) == {}


# -- payloads -----------------------------------------------------------------------------------


async def test_binary_payloads_round_trip_exactly(store: EventStore) -> None:
    blobs = [bytes(range(256)) * 64, b"", b"\x00", b"\x00\xff\x00" * 1000, b"\x01not json"]
    await store.append_many([NewEvent("doc", "update", blob=blob) for blob in blobs])
    await store.append(NewEvent("doc", "text"))

    stored = await store.read("doc")
    assert [e.blob for e in stored] == [*blobs, None]
    assert all(e.data is None for e in stored)


@pytest.mark.parametrize(
    "data",
    [
        {"nested": {"list": [1, 2.5, None, True, False, {"deep": ["x"]}], "empty": {}, "none": None}},
        {"unicode": "Grüße, 日本語, emoji 🎉, rtl עברית, nul-free \\u0000 text", "ключ": "значение"},
        [1, "two", [3]],
        "just a string",
        42,
        -1.25,
        True,
        {"big": 2**53, "negative": -(2**40)},
    ],
)
async def test_json_payloads_round_trip(store: EventStore, data: object) -> None:
    await store.append(NewEvent("room", "message", data))
    [stored] = await store.read("room")
    assert stored.data == data
    assert type(stored.data) is type(data)


async def test_created_at_is_utc_and_kept_to_the_microsecond(store: EventStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    moments = [
        datetime(2026, 11, 27, 14, 30, 15, 123456, tzinfo=UTC),
        datetime(2026, 11, 27, 16, 30, 15, 654321, tzinfo=plus_two),
        datetime(1999, 1, 2, 3, 4, 5, tzinfo=UTC),
    ]
    appended = await store.append_many([NewEvent("room", "message", created_at=m) for m in moments])
    appended.append(await store.append(NewEvent("room", "message")))
    # A naive datetime is taken as UTC.
    appended.append(await store.append(NewEvent("room", "message", created_at=datetime(2026, 1, 2, 3, 4, 5, 6))))

    stored = await store.read("room")
    assert [a.event for a in appended] == stored
    for event in stored:
        assert event.created_at.utcoffset() == timedelta(0)
    assert [e.created_at for e in stored[:3]] == moments
    assert abs(datetime.now(UTC) - stored[3].created_at) < timedelta(minutes=1)
    assert stored[4].created_at == datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)


# -- idempotent op ids --------------------------------------------------------------------------


async def test_a_retried_op_id_returns_the_stored_event(store: EventStore) -> None:
    first = await store.append(message("room", 1, user_id="ann", op_id="op-1"))
    retry = await store.append(message("room", 2, user_id="ann", op_id="op-1"))

    assert first.new and not retry.new
    assert retry.event == first.event
    assert retry.event.data == {"n": 1}
    assert await store.head("room") == 1


async def test_a_retry_in_the_same_batch_is_stored_once(store: EventStore) -> None:
    results = await store.append_many(
        [
            message("room", 1, user_id="ann", op_id="op-1"),
            message("room", 2, user_id="ann", op_id="op-2"),
            message("room", 3, user_id="ann", op_id="op-1"),
        ]
    )
    assert [(r.event.seq, r.new) for r in results] == [(1, True), (2, True), (1, False)]
    assert results[2].event == results[0].event
    assert [e.data["n"] for e in await store.read("room")] == [1, 2]


async def test_a_retry_in_a_later_batch_mixed_with_new_events(store: EventStore) -> None:
    await store.append_many([message("room", n, user_id="ann", op_id=f"op-{n}") for n in range(3)])
    results = await store.append_many(
        [
            message("room", 10, user_id="ann", op_id="op-new"),
            message("room", 11, user_id="ann", op_id="op-1"),
            message("other", 12, user_id="ann", op_id="op-2"),
            message("room", 13),
        ]
    )
    assert [(r.event.channel, r.event.seq, r.new) for r in results] == [
        ("room", 4, True),
        ("room", 2, False),
        ("other", 1, True),
        ("room", 5, True),
    ]
    assert [e.seq for e in await store.read("room")] == [1, 2, 3, 4, 5]


async def test_concurrent_retries_store_one_event(store: EventStore) -> None:
    results = await asyncio.gather(*(store.append(message("room", n, user_id="ann", op_id="op")) for n in range(5)))
    assert [r.new for r in results] == [True, False, False, False, False]
    assert all(r.event == results[0].event for r in results)
    assert await store.head("room") == 1


async def test_op_ids_are_per_user_and_per_channel(store: EventStore) -> None:
    results = await store.append_many(
        [
            message("room", user_id="ann", op_id="op-1"),
            message("room", user_id="bob", op_id="op-1"),
            message("other", user_id="ann", op_id="op-1"),
        ]
    )
    again = await store.append_many(
        [
            message("room", user_id="bob", op_id="op-1"),
            message("room", user_id="carl", op_id="op-1"),
        ]
    )
    assert [(r.event.channel, r.event.seq, r.new) for r in results] == [
        ("room", 1, True),
        ("room", 2, True),
        ("other", 1, True),
    ]
    assert [(r.event.seq, r.new) for r in again] == [(2, False), (3, True)]


async def test_events_without_op_id_are_never_deduplicated(store: EventStore) -> None:
    results = await store.append_many([message("room", user_id="ann") for _ in range(3)])
    results.append(await store.append(message("room", user_id="ann")))
    assert [(r.event.seq, r.new) for r in results] == [(1, True), (2, True), (3, True), (4, True)]


async def test_an_op_id_without_user_is_deduplicated_too(store: EventStore) -> None:
    first = await store.append(message("room", 1, op_id="anon-op"))
    retries = await store.append_many([message("room", 2, op_id="anon-op"), message("room", 3, op_id="anon-op")])
    assert [(r.event.seq, r.new) for r in [first, *retries]] == [(1, True), (1, False), (1, False)]


# -- errors -------------------------------------------------------------------------------------


async def _append_each(store: EventStore, new_events: list[NewEvent]) -> list[object]:
    # Enqueued in one go, so they all land in one batch.
    return await asyncio.gather(*(store.append(e) for e in new_events), return_exceptions=True)


async def test_a_refused_event_fails_only_its_own_caller(store: EventStore) -> None:
    bad = NewEvent("room", None)  # type: ignore[arg-type]  # NOT NULL column: every database refuses it
    results = await _append_each(store, [message("room", 1), bad, message("room", 2), message("other", 3)])

    assert isinstance(results[1], StoreError)
    assert [(r.event.channel, r.event.seq) for r in (results[0], results[2], results[3])] == [  # type: ignore[union-attr]
        ("room", 1),
        ("room", 2),
        ("other", 1),
    ]
    assert [e.data["n"] for e in await store.read("room")] == [1, 2]
    assert await store.head("room") == 2
    # The store goes on working after the failure.
    assert (await store.append(message("room", 4))).event.seq == 3


@pytest.mark.postgres
async def test_a_too_long_type_fails_only_its_caller_on_postgres(store: EventStore) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    results = await _append_each(store, [message("room", 1), message("room", 2, type="x" * 65), message("room", 3)])
    assert isinstance(results[1], StoreError)
    assert [e.data["n"] for e in await store.read("room")] == [1, 3]


async def test_a_payload_that_is_not_json_fails_only_its_caller(store: EventStore) -> None:
    results = await _append_each(store, [message("room", 1), message("room", data={"x": object()}), message("room", 3)])
    assert isinstance(results[1], StoreError)
    assert [e.seq for e in await store.read("room")] == [1, 2]


async def test_append_many_with_a_payload_that_is_not_json_stores_none_of_its_events(store: EventStore) -> None:
    with pytest.raises(StoreError):
        await store.append_many([message("room", 1), message("room", data={"x": object()}), message("room", 3)])
    assert await store.read("room") == []


async def test_append_many_raises_a_refused_event_and_keeps_the_others(store: EventStore) -> None:
    with pytest.raises(StoreError):
        await store.append_many([message("room", 1), NewEvent("room", None), message("room", 3)])  # type: ignore[arg-type]
    assert [e.data["n"] for e in await store.read("room")] == [1, 3]


async def test_close_answers_pending_appends_and_refuses_new_ones(database_url: str) -> None:
    store = await SqlEventStore.open(database_url)
    pending = [asyncio.ensure_future(store.append(message("room", n))) for n in range(200)]
    await asyncio.sleep(0)  # the appends are enqueued; close must not strand them
    await store.close()

    assert all(task.done() for task in pending)
    assert [task.result().event.seq for task in pending] == list(range(1, 201))
    with pytest.raises(StoreError):
        await store.append(message("room"))
    with pytest.raises(StoreError):
        await store.append_many([message("room")])

    reopened = await SqlEventStore.open(database_url)
    try:
        assert await reopened.head("room") == 200
    finally:
        await reopened.close()


# -- channels -----------------------------------------------------------------------------------


async def test_create_get_and_list_channels(store: EventStore) -> None:
    created = await store.create_channel("general", created_by="ann")
    assert (created.name, created.kind, created.head, created.private, created.created_by) == (
        "general",
        "chat",
        0,
        False,
        "ann",
    )
    assert created.created_at.utcoffset() == timedelta(0)
    assert await store.get_channel("general") == created
    assert await store.get_channel("missing") is None

    with pytest.raises(Conflict):
        await store.create_channel("general")

    await store.create_channel("kanban:plan", private=True, members=["ann", "bob"])
    await store.append(message("dm:ann:bob"))  # an unknown channel is created on first append
    listed = await store.list_channels()
    assert [(c.name, c.kind, c.head, c.private) for c in listed] == [
        ("dm:ann:bob", "dm", 1, False),
        ("general", "chat", 0, False),
        ("kanban:plan", "kanban", 0, True),
    ]
    assert listed[2].members == {"ann", "bob"}


async def test_members_of_a_private_channel(store: EventStore) -> None:
    await store.create_channel("secret", private=True, members=["ann"])
    await store.add_member("secret", "bob")
    await store.add_member("secret", "bob")  # adding twice is harmless
    assert (await store.get_channel("secret")).members == {"ann", "bob"}  # type: ignore[union-attr]

    await store.remove_member("secret", "ann")
    await store.remove_member("secret", "nobody")
    assert (await store.get_channel("secret")).members == {"bob"}  # type: ignore[union-attr]


async def test_appending_to_a_created_channel_keeps_its_settings(store: EventStore) -> None:
    await store.create_channel("secret", private=True, members=["ann"])
    await store.append(message("secret"))
    channel = await store.get_channel("secret")
    assert channel is not None
    assert (channel.head, channel.private, channel.members) == (1, True, {"ann"})


# -- snapshots ----------------------------------------------------------------------------------


async def test_snapshots(store: EventStore) -> None:
    assert await store.latest_snapshot("board") is None
    await store.save_snapshot(Snapshot("board", 5, {"cards": ["a"]}))
    await store.save_snapshot(Snapshot("board", 10, {"cards": ["a", "b"]}))
    await store.save_snapshot(Snapshot("doc", 3, blob=b"\x00crdt\xff"))

    latest = await store.latest_snapshot("board")
    assert latest is not None
    assert (latest.seq, latest.data, latest.blob) == (10, {"cards": ["a", "b"]}, None)
    assert latest.created_at.utcoffset() == timedelta(0)
    assert (await store.latest_snapshot("board", max_seq=9)).seq == 5  # type: ignore[union-attr]
    assert (await store.latest_snapshot("board", max_seq=10)).seq == 10  # type: ignore[union-attr]
    assert await store.latest_snapshot("board", max_seq=4) is None
    doc = await store.latest_snapshot("doc")
    assert doc is not None
    assert (doc.seq, doc.data, doc.blob) == (3, None, b"\x00crdt\xff")

    await store.save_snapshot(Snapshot("board", 10, {"cards": ["replaced"]}))
    replaced = await store.latest_snapshot("board")
    assert replaced is not None
    assert (replaced.seq, replaced.data) == (10, {"cards": ["replaced"]})
