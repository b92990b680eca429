"""The PostgreSQL broker's sequencer (collab/store/pg_broker.py): every event once, in seq order, with
the log read only when the notifications do not bring what is missing.

The race these tests pin: this process commits seq 2 of a channel a moment after another process
committed seq 1, and its own commit returns before seq 1's notification has arrived. Waiting for the
listener (which brings seq 1 first: notifications come in commit order) costs nothing; reading the log
costs a query per race, which under load was one notification in eight.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from support.databases import create_postgres_database, drop_postgres_database, postgres_url
from support.waiting import wait_for

from collab.events import NewEvent, StoredEvent
from collab.store import notify, pg_broker
from collab.store.pg_broker import PostgresBroker, asyncpg_dsn
from collab.store.sql import SqlEventStore


@pytest.fixture
async def stores(postgres_template: str) -> AsyncIterator[tuple[str, SqlEventStore, SqlEventStore]]:
    """A fresh database's URL and two stores on it: one for the broker under test, one that writes without
    notifying (what the broker learns of its events, it learns only from what the test hands it)."""
    name = await create_postgres_database(postgres_template)
    url = postgres_url(name)
    listened, silent = await SqlEventStore.open(url), await SqlEventStore.open(url)
    try:
        yield url, listened, silent
    finally:
        await listened.close()
        await silent.close()
        await drop_postgres_database(name)


@pytest.fixture
async def broker(stores: tuple[str, SqlEventStore, SqlEventStore]) -> AsyncIterator[PostgresBroker]:
    url, listened, _ = stores
    opened = await PostgresBroker.open(listened, asyncpg_dsn(url))
    try:
        yield opened
    finally:
        await opened.close()


async def stored_silently(silent: SqlEventStore, channel: str, count: int) -> list[StoredEvent]:
    appended = await silent.append_many([NewEvent(channel, "message", {"n": n}) for n in range(count)])
    return [result.event for result in appended]


def delivered_to(broker: PostgresBroker) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    broker.subscribe(lambda event: seen.append((event.channel, event.seq)), lambda channel, frame: None)
    return seen


def heard(broker: PostgresBroker, node: str, events: list[StoredEvent], inline: bool = True) -> None:
    """What the listener does with a commit notification of `events` sent by `node`."""
    (payload,) = notify.commit_payloads(node, events)
    if not inline:
        body = notify.read_commit(payload)[1]
        payload = orjson.dumps({"n": node, "c": {c: list(span) for c, span in body.items()}}).decode()
    broker._on_commit(None, 0, notify.EVENTS, payload)


async def test_a_local_event_that_skips_ahead_waits_for_the_listener_not_the_log(broker, stores) -> None:
    _, _, silent = stores
    first, second = await stored_silently(silent, "room", 2)
    broker._delivered["room"] = 0  # this process knew the channel before both
    seen = delivered_to(broker)
    broker.publish(second)  # its own commit returned before the other process's notification came
    assert seen == []
    heard(broker, "other", [first])
    heard(broker, broker.node, [second])  # its own, heard back
    assert seen == [("room", 1), ("room", 2)]
    assert broker.gaps_filled == 0


async def test_the_log_fills_the_gap_when_its_own_notification_comes_first(broker, stores) -> None:
    _, _, silent = stores
    first, second = await stored_silently(silent, "room", 2)
    broker._delivered["room"] = 0
    seen = delivered_to(broker)
    broker.publish(second)
    heard(broker, "other", [first], inline=False)  # the events did not fit: the seqs alone
    await wait_for(lambda: seen == [("room", 1), ("room", 2)])
    assert broker.gaps_filled == 1


async def test_the_log_fills_the_gap_when_no_notification_brings_it(broker, stores, monkeypatch) -> None:
    monkeypatch.setattr(pg_broker, "LISTENER_GRACE_SECONDS", 0.05)
    _, _, silent = stores
    *_, third = await stored_silently(silent, "room", 3)
    broker._delivered["room"] = 0
    seen = delivered_to(broker)
    broker.publish(third)
    await wait_for(lambda: seen == [("room", 1), ("room", 2), ("room", 3)])
    assert broker.gaps_filled == 1


async def test_a_local_event_that_skips_ahead_while_the_listener_is_away_reads_the_log_at_once(
    broker, stores, monkeypatch
) -> None:
    monkeypatch.setattr(pg_broker, "LISTENER_GRACE_SECONDS", 60)
    _, _, silent = stores
    _, second = await stored_silently(silent, "room", 2)
    broker._delivered["room"] = 0
    broker.state = "reconnecting"
    seen = delivered_to(broker)
    broker.publish(second)
    await wait_for(lambda: seen == [("room", 1), ("room", 2)])


async def test_events_heard_while_the_log_is_read_are_delivered_once_in_order(broker, stores) -> None:
    _, _, silent = stores
    events = await stored_silently(silent, "room", 5)
    broker._delivered["room"] = 0
    seen = delivered_to(broker)
    heard(broker, "other", events[2:3])  # seq 3 skips ahead: the log is read for 1..2
    heard(broker, "other", events[0:2])  # meanwhile 1 and 2 arrive after all
    heard(broker, "other", events[3:5])
    broker.publish(events[4])  # and a duplicate from this process
    await wait_for(lambda: len(seen) >= 5 and not broker._filling)
    assert seen == [("room", seq) for seq in range(1, 6)]
