"""The EventStore contract, conditional appends (`append_at_head`): every implementation, both databases."""

from __future__ import annotations

import asyncio

import pytest
from support.closing import opened
from support.stores import IMPLEMENTATIONS, message

from collab.errors import Conflict, StoreError
from collab.events import NewEvent
from collab.store.base import EventStore, StaleHead


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
