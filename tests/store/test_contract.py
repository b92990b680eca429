"""The `EventStore` contract (collab/store/base.py), run on every dialect through `database_url`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from support.closing import opened

from collab.errors import Conflict, StoreError
from collab.events import NewEvent, Snapshot
from collab.store.base import EventStore, StaleHead
from collab.store.sql import SqlEventStore

# Every implementation of the port, opened on a fresh database (`database_url`: SQLite and PostgreSQL).
# The tests below see only the `EventStore` Protocol; a new implementation is one more entry here.
IMPLEMENTATIONS: dict[str, Callable[[str], Awaitable[EventStore]]] = {"sql": SqlEventStore.open}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def store(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[EventStore]:
    async with opened(IMPLEMENTATIONS[request.param](database_url)) as store:
        yield store


def message(channel: str, n: int = 0, **fields: object) -> NewEvent:
    return NewEvent(channel, fields.pop("type", "message"), fields.pop("data", {"n": n}), **fields)  # type: ignore[arg-type]


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


# -- conditional appends (append_at_head) -------------------------------------------------------


async def test_a_conditional_append_at_the_head_stores_all_its_events(store: EventStore) -> None:
    fresh = await store.append_at_head([message("board", 0)], 0)  # an unknown channel is at 0
    await store.append(message("board", 1))
    results = await store.append_at_head([message("board", 2), message("board", 3)], 2)
    assert [(r.event.seq, r.new) for r in [*fresh, *results]] == [(1, True), (3, True), (4, True)]
    assert [r.event for r in results] == (await store.read("board"))[2:]


@pytest.mark.parametrize("expected", [0, 1, 3])
async def test_a_conditional_append_at_another_head_stores_nothing(store: EventStore, expected: int) -> None:
    await store.append_many([message("board", 0), message("board", 1)])
    with pytest.raises(StaleHead) as refused:
        await store.append_at_head([message("board", 2), message("board", 3)], expected)
    assert isinstance(refused.value, Conflict)
    assert (refused.value.expected, refused.value.head) == (expected, 2)
    assert [e.data["n"] for e in await store.read("board")] == [0, 1]
    assert await store.head("board") == 2


async def test_conditional_appends_in_one_batch_are_checked_in_call_order(store: EventStore) -> None:
    """The second call on a channel must expect the head the first one left; plain appends and other
    channels around them are unaffected by a refusal."""
    results = await asyncio.gather(
        store.append_at_head([message("board", 1)], 0),
        store.append_at_head([message("board", 2)], 0),  # stale: the first took seq 1
        store.append_at_head([message("board", 3), message("board", 4)], 1),
        store.append(message("board", 5)),
        store.append_at_head([message("other", 6)], 0),
        store.append_at_head([message("board", 7)], 4),
        return_exceptions=True,
    )
    assert isinstance(results[1], StaleHead) and results[1].head == 1
    ok = [results[0], results[2], [results[3]], results[4], results[5]]
    assert [[(r.event.channel, r.event.seq) for r in group] for group in ok] == [  # type: ignore[union-attr]
        [("board", 1)],
        [("board", 2), ("board", 3)],
        [("board", 4)],
        [("other", 1)],
        [("board", 5)],
    ]
    assert [e.data["n"] for e in await store.read("board")] == [1, 3, 4, 5, 7]


async def test_a_retried_conditional_append_answers_the_stored_events_whatever_the_head(store: EventStore) -> None:
    first = await store.append_at_head([message("board", 1), message("board", 2, user_id="ann", op_id="op")], 0)
    await store.append(message("board", 3))
    for expected in (0, 3, 7):  # stale, the head now, beyond it: a retry is a retry
        retry = await store.append_at_head(
            [message("board", 9), message("board", 9, user_id="ann", op_id="op")], expected
        )
        assert [(r.event, r.new) for r in retry] == [(first[1].event, False)]
    plain = await store.append(message("board", 9, user_id="ann", op_id="op"))
    assert (plain.event, plain.new) == (first[1].event, False)
    assert [e.data["n"] for e in await store.read("board")] == [1, 2, 3]


async def test_a_conditional_append_retrying_a_plain_one_stores_nothing(store: EventStore) -> None:
    original = await store.append(message("board", 1, user_id="ann", op_id="op"))
    # The first batch of a store inserts before it looks op ids up; later ones look up first.
    for _ in range(2):
        retry = await store.append_at_head([message("board", 2, user_id="ann", op_id="op")], 0)
        assert [(r.event, r.new) for r in retry] == [(original.event, False)]
        again = await store.append_at_head([message("board", 2, user_id="ann", op_id="op")], 1)
        assert [(r.event, r.new) for r in again] == [(original.event, False)]
    assert await store.head("board") == 1


async def test_a_conditional_retry_in_the_same_batch_is_stored_once(store: EventStore) -> None:
    first, retry = await asyncio.gather(
        store.append_at_head([message("board", 1, user_id="ann", op_id="op")], 0),
        store.append_at_head([message("board", 2, user_id="ann", op_id="op")], 0),
    )
    assert [(r.event.seq, r.new) for r in [*first, *retry]] == [(1, True), (1, False)]
    assert [e.data["n"] for e in await store.read("board")] == [1]


async def test_a_conditional_append_the_database_refuses_fails_alone(store: EventStore) -> None:
    bad = NewEvent("board", None)  # type: ignore[arg-type]  # NOT NULL column
    results = await asyncio.gather(
        store.append(message("board", 1)),
        store.append_at_head([message("board", 2), bad], 1),
        store.append_at_head([message("board", 3)], 1),
        return_exceptions=True,
    )
    assert isinstance(results[1], StoreError)
    assert [r.event.seq for r in results[2]] == [2]  # type: ignore[union-attr]
    assert [e.data["n"] for e in await store.read("board")] == [1, 3]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], 0),
        ([message("board", 1), message("other", 2)], 0),
        ([message("board", 1)], -1),
        ([message("board", 1, user_id="ann", op_id="op"), message("board", 2, user_id="ann", op_id="op")], 0),
    ],
    ids=["no events", "two channels", "negative head", "op id twice"],
)
async def test_a_bad_conditional_append_is_refused_at_the_call(
    store: EventStore, events: list[NewEvent], expected: int
) -> None:
    with pytest.raises(ValueError):
        await store.append_at_head(events, expected)
    with pytest.raises(StoreError):
        await store.append_at_head([message("board", 1), message("board", data={"x": object()})], 0)
    assert await store.read("board") == [] and await store.read("other") == []


@pytest.mark.parametrize("implementation", sorted(IMPLEMENTATIONS))
async def test_of_two_stores_appending_at_one_head_exactly_one_wins(database_url: str, implementation: str) -> None:
    """Two processes' stores race for the same head, round after round: one wins, the other gets
    `StaleHead` with the winner's head, and the log holds exactly the winners."""
    opening = IMPLEMENTATIONS[implementation]
    async with opened(opening(database_url)) as one, opened(opening(database_url)) as two:
        winners: list[tuple[str, int]] = []
        head = 0
        for round_ in range(30):
            results = await asyncio.gather(
                *(
                    store.append_at_head([message("board", round_, data={"who": who}), message("board")], head)
                    for who, store in (("one", one), ("two", two))
                ),
                return_exceptions=True,
            )
            won = [r for r in results if isinstance(r, list)]
            lost = [r for r in results if isinstance(r, StaleHead)]
            assert (len(won), len(lost)) == (1, 1), results
            assert lost[0].head == head + 2, lost[0]  # it was checked after the winner committed
            assert [r.event.seq for r in won[0]] == [head + 1, head + 2]
            winners.append((won[0][0].event.data["who"], head + 1))
            head += 2
        stored = await one.read("board")
        assert [(e.data["who"], e.seq) for e in stored if "who" in e.data] == winners
        assert await two.head("board") == head == len(stored)


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
