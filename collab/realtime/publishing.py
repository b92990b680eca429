"""Events a backend publishes (the publish API, docs/server-api.md): stored and delivered exactly like a
socket's `publish` (an `event` event with `{"event", "data"}`), through the store's append and the broker,
so that every server process's subscribers get them.

- One call stores one event per channel named, all checked before anything is stored: a channel name,
  kind or payload that is refused fails the whole call and stores nothing.
- Idempotent by op id: a retry with the same (channel, service, op id) stores nothing and answers the
  stored event; the same op id with another event or data is a `Conflict` (the first one stays).
- Bounded: at most `max_channels` channels a call, and `rate` events a second per service (bursts of
  `burst`), counted per server process; each channel of a call is one event.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from collab.errors import CollabError, Conflict, Forbidden, ProtocolError
from collab.events import PUBLISHED_TYPE, Appended, NewEvent
from collab.naming import check_channel_name
from collab.realtime.broadcast import BROADCAST_CHANNEL
from collab.realtime.hub import ChannelManager
from collab.realtime.protocol import MAX_ID_LENGTH
from collab.users import User
from collab.values import check_json_text, check_text

MAX_EVENT_NAME = 100  # as a socket's `publish`


@dataclass(frozen=True)
class PublishLimits:
    """`max_channels` a call; `rate` events a second per service with bursts of `burst` (0: no limit)."""

    max_channels: int = 100
    rate: float = 200.0
    burst: int = 1000


class RateLimited(CollabError):
    """Over the service's rate: nothing stored; `retry_after` seconds until the call would fit."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Publication:
    """What a backend asks to publish, checked: the channels, the event's name, its data, the op id."""

    channels: tuple[str, ...]
    event: str
    data: Any
    op_id: str | None

    @classmethod
    def parse(cls, channels: Sequence[object], body: object, *, max_channels: int) -> Publication:
        """`ProtocolError` naming the field for anything that is not a valid publication."""
        if not isinstance(body, dict):
            raise ProtocolError("the body must be a JSON object")
        unknown = sorted(set(body) - {"event", "data", "id", "channels"})
        if unknown:
            raise ProtocolError(f"unknown field {unknown[0]!r} (known: channels, event, data, id)")
        if not channels:
            raise ProtocolError("field 'channels' must name at least one channel")
        if len(channels) > max_channels:
            raise ProtocolError(f"at most {max_channels} channels a call, not {len(channels)}")
        names = tuple(check_channel_name(name) for name in channels)
        if len(set(names)) != len(names):
            raise ProtocolError("field 'channels' names a channel twice")
        event = body.get("event")
        if not isinstance(event, str) or not event.strip() or len(event) > MAX_EVENT_NAME:
            raise ProtocolError(f"field 'event' must be a string of 1-{MAX_EVENT_NAME} characters")
        check_text(event, "event")
        if "data" not in body:
            raise ProtocolError("field 'data' is missing (null is a value)")
        check_json_text(orjson.dumps(body["data"]).decode())
        op_id = body.get("id")
        if op_id is not None and (not isinstance(op_id, str) or not op_id or len(op_id) > MAX_ID_LENGTH):
            raise ProtocolError(f"field 'id' must be a string of 1-{MAX_ID_LENGTH} characters")
        check_text(op_id, "id")
        return cls(names, event, body["data"], op_id)

    @property
    def payload(self) -> dict[str, Any]:
        return {"event": self.event, "data": self.data}


class ServiceRates:
    """A token bucket per service (user id), refilled at `rate` a second up to `burst`. A call costs one
    token per event; one that does not fit takes none. Buckets that are full again are forgotten."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # user id → (tokens, at)

    def take(self, who: str, cost: int) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        tokens, at = self._buckets.get(who, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if cost > tokens:
            wait = (min(cost, self.burst) - tokens) / self.rate
            raise RateLimited(
                f"over the publish rate ({self.rate:g} events a second, bursts of {self.burst:g})"
                + ("; a call of more events than a burst never fits" if cost > self.burst else ""),
                wait if cost <= self.burst else 0.0,
            )
        self._buckets[who] = (tokens - cost, now)
        if len(self._buckets) > 10_000:
            self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        for who, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= self.burst:
                del self._buckets[who]


class Publisher:
    """Stores and publishes what backends send, on `manager`'s store and broker."""

    def __init__(self, manager: ChannelManager, limits: PublishLimits | None = None) -> None:
        self.manager = manager
        self.limits = limits or PublishLimits()
        self.rates = ServiceRates(self.limits.rate, self.limits.burst)

    def parse(self, channels: Sequence[object], body: object) -> Publication:
        """The request checked (`ProtocolError`), its channels' kinds too (`Forbidden`, `ProtocolError`)."""
        publication = Publication.parse(channels, body, max_channels=self.limits.max_channels)
        for name in publication.channels:
            self.check_channel(name)
        return publication

    def check_channel(self, name: str) -> None:
        """A channel a backend may publish to: one whose kind takes published events, not a direct
        message (two users' own), and of its kind `broadcast` only `broadcast:all`."""
        kind = self.manager.kind_of(name)  # ProtocolError for an unknown kind (documents' `doc:` among them)
        if name == BROADCAST_CHANNEL:
            return
        if kind.name == "broadcast":
            raise ProtocolError(f"the only channel of kind 'broadcast' is {BROADCAST_CHANNEL!r}")
        if kind.name == "dm":
            raise Forbidden("direct-message channels carry their two users' messages only")
        if not kind.client_publish:
            raise Forbidden(f"only the server writes to {kind.name} channels")

    async def publish(self, service: User, publication: Publication) -> list[Appended]:
        """Store one event per channel (one transaction where the store can), publish the new ones, and
        answer each channel's event in order. `RateLimited` before anything is stored."""
        self.rates.take(service.id, len(publication.channels))
        events = [
            NewEvent(
                name,
                PUBLISHED_TYPE,
                publication.payload,
                user_id=service.id,
                nickname=service.name,
                op_id=publication.op_id,
            )
            for name in publication.channels
        ]
        appended = await self.manager.store.append_many(events)
        expected = orjson.loads(orjson.dumps(publication.payload))
        for result in appended:
            if result.new:
                self.manager.broker.publish(result.event)
        for result in appended:
            if not result.new and (result.event.type != PUBLISHED_TYPE or result.event.data != expected):
                raise Conflict(
                    f"op id {publication.op_id!r} was used for another event on {result.event.channel!r}; "
                    "that one is kept"
                )
        return appended
