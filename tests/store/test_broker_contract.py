"""The `Broker` contract (collab/realtime/broker.py), run on every implementation.

Today that is the in-process broker; the PostgreSQL broker of the scale-out work is one more entry in
`IMPLEMENTATIONS`. The tests see only the Protocol.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from collab.events import StoredEvent
from collab.realtime.broker import Broker, InProcessBroker

IMPLEMENTATIONS: dict[str, Callable[[], Broker]] = {"in-process": InProcessBroker}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    opened = IMPLEMENTATIONS[request.param]()
    try:
        yield opened
    finally:
        await opened.close()


def event(channel: str, seq: int) -> StoredEvent:
    return StoredEvent(channel, seq, "message", {"n": seq}, None, "u1", "Ann", None, datetime.now(UTC))


class Subscriber:
    """What one process's hub would see."""

    def __init__(self) -> None:
        self.events: list[StoredEvent] = []
        self.frames: list[tuple[str, dict]] = []

    def deliver(self, stored: StoredEvent) -> None:
        self.events.append(stored)

    def relay(self, channel: str, frame: dict) -> None:
        self.frames.append((channel, frame))


async def settled(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait for deliveries with a deadline (a broker across processes delivers after `publish`
    returns); each poll yields to the loop."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the deliveries did not arrive within {within}s")
        await asyncio.sleep(0.005)


async def test_every_subscriber_gets_every_publish_once(broker: Broker) -> None:
    subscribers = [Subscriber() for _ in range(3)]
    for subscriber in subscribers:
        broker.subscribe(subscriber.deliver, subscriber.relay)
    published = [event("room", seq) for seq in range(1, 6)]
    for stored in published:
        broker.publish(stored)
    await settled(lambda: all(len(s.events) >= len(published) for s in subscribers))
    for subscriber in subscribers:
        assert subscriber.events == published


async def test_one_channel_keeps_its_order_among_others(broker: Broker) -> None:
    subscriber = Subscriber()
    broker.subscribe(subscriber.deliver, subscriber.relay)
    for seq in range(1, 51):
        broker.publish(event("a", seq))
        broker.publish(event("b", seq))
    await settled(lambda: len(subscriber.events) >= 100)
    for channel in ("a", "b"):
        assert [e.seq for e in subscriber.events if e.channel == channel] == list(range(1, 51))


async def test_relays_reach_every_subscriber_and_are_not_events(broker: Broker) -> None:
    subscribers = [Subscriber() for _ in range(2)]
    for subscriber in subscribers:
        broker.subscribe(subscriber.deliver, subscriber.relay)
    broker.relay("draw:x", {"type": "cursor", "x": 1})
    await settled(lambda: all(s.frames for s in subscribers))
    for subscriber in subscribers:
        assert subscriber.frames == [("draw:x", {"type": "cursor", "x": 1})]
        assert subscriber.events == []  # a relay is never delivered as a committed event


async def test_a_late_subscriber_gets_only_what_follows(broker: Broker) -> None:
    early, late = Subscriber(), Subscriber()
    broker.subscribe(early.deliver, early.relay)
    broker.publish(event("room", 1))
    await settled(lambda: len(early.events) == 1)
    broker.subscribe(late.deliver, late.relay)
    broker.publish(event("room", 2))
    await settled(lambda: len(late.events) >= 1 and len(early.events) >= 2)
    assert [e.seq for e in late.events] == [2]
    assert [e.seq for e in early.events] == [1, 2]


async def test_nothing_is_delivered_after_close(broker: Broker) -> None:
    subscriber = Subscriber()
    broker.subscribe(subscriber.deliver, subscriber.relay)
    await broker.close()
    broker.publish(event("room", 1))
    broker.relay("room", {"type": "typing"})
    await asyncio.sleep(0)
    assert subscriber.events == [] and subscriber.frames == []
    await broker.close()  # idempotent
