"""An event as a row of `events` and of the search index: encoded in the caller before the writer takes
it (`Pending`), so the writer's transaction does no per-row work but allocating seqs; and read back
(`stored_event`)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from collab.errors import StoreError
from collab.events import Appended, NewEvent, StoredEvent
from collab.store.schema import events
from collab.timetext import sqlite_timestamp
from collab.values import check_json_text, check_text

EVENT_COLUMNS = (
    events.c.channel,
    events.c.seq,
    events.c.type,
    events.c.data,
    events.c.blob,
    events.c.user_id,
    events.c.nickname,
    events.c.op_id,
    events.c.created_at,
)
# The order of the values in a prepared row; `seq` is added when the writer allocates it.
ROW_COLUMNS = ("channel", "seq", "type", "user_id", "nickname", "op_id", "op_key", "data", "blob", "created_at")


# An event's search index terms for the database (collab.store.search.rows.indexer), or None.
Indexer = Callable[[NewEvent], Any]


def aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; everything we store is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def stored_event(row: Any) -> StoredEvent:
    """A row of `EVENT_COLUMNS` as a `StoredEvent`."""
    return StoredEvent(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], aware(row[8]))


def op_key(channel: str, user_id: str | None, op_id: str) -> int:
    """A signed 64-bit hash of what identifies an operation. Two different operations share a key with
    probability ~n²/2⁶⁵ for n keyed events in the database; the lookup compares the full identity and
    refuses (rather than merges) such a pair."""
    user = "\x01" if user_id is None else "\x02" + user_id
    digest = hashlib.blake2b(f"{channel}\x00{user}\x00{op_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # naive: taken as UTC already
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC) if moment.utcoffset() else moment


class Pending:
    """An event waiting for the writer, with its column values already encoded for the database."""

    __slots__ = ("channel", "created_at", "event", "future", "op_key", "row", "terms")

    # A member of a `PendingGroup` shares the group's future (a list of `Appended`). `sqlite`: the row is
    # for SQLite (timestamps as text), else for PostgreSQL. `index` makes the event's terms for the search
    # index (None for an event without text).
    def __init__(self, event: NewEvent, future: asyncio.Future[Any], sqlite: bool, index: Indexer) -> None:
        created_at = event.created_at
        if created_at.tzinfo is not UTC:  # `utcnow()` gives UTC itself; asking utcoffset() costs 1 us
            created_at = _as_utc(created_at)
        data = event.data
        try:
            encoded = None if data is None else orjson.dumps(data).decode()
        except orjson.JSONEncodeError as error:
            raise StoreError(f"the event's data is not JSON: {error}") from error
        # PostgreSQL refuses U+0000 where SQLite keeps it: refused here, before either sees it, the same
        # way on both (collab.values).
        check_json_text(encoded)
        check_text(event.type, "type")
        check_text(event.user_id, "user_id")
        check_text(event.nickname, "nickname")
        check_text(event.op_id, "id")
        key = None if event.op_id is None else op_key(event.channel, event.user_id, event.op_id)
        self.event = event
        self.future = future
        self.channel = event.channel
        self.created_at = created_at
        self.op_key = key
        # The row without its seq, in `ROW_COLUMNS` order. SQLite keeps timestamps as text in the
        # format SQLAlchemy reads back (the UTC time without its "+00:00"); asyncpg takes the datetime.
        self.row = (
            event.type,
            event.user_id,
            event.nickname,
            event.op_id,
            key,
            encoded,
            event.blob,
            sqlite_timestamp(created_at) if sqlite else created_at,
        )
        self.terms = index(event)

    def stored(self, seq: int) -> StoredEvent:
        """The event as it is stored at `seq` (what its caller is answered with)."""
        event = self.event
        return StoredEvent(
            self.channel,
            seq,
            event.type,
            event.data,
            event.blob,
            event.user_id,
            event.nickname,
            event.op_id,
            self.created_at,
        )


class PendingGroup:
    """Events of one channel to append together, only if the channel's head is still `expected_head`
    (`EventStore.append_at_head`): one item of the writer's batch, answered with a list of `Appended`
    or `StaleHead`. Checked here, at the call: one channel, an op id at most once."""

    __slots__ = ("channel", "expected_head", "future", "members", "op_key", "op_keys")

    def __init__(
        self,
        events: Sequence[NewEvent],
        expected_head: int,
        future: asyncio.Future[list[Appended]],
        sqlite: bool,
        index: Indexer,
    ) -> None:
        if not events:
            raise ValueError("a conditional append needs at least one event")
        channels = {event.channel for event in events}
        if len(channels) > 1:
            raise ValueError(f"a conditional append is on one channel, not {sorted(channels)}")
        if isinstance(expected_head, bool) or not isinstance(expected_head, int) or expected_head < 0:
            raise ValueError(f"expected_head must be a seq (a whole number ≥ 0), not {expected_head!r}")
        self.members = [Pending(event, future, sqlite, index) for event in events]
        self.op_keys = [member.op_key for member in self.members if member.op_key is not None]
        if len(set(self.op_keys)) != len(self.op_keys):
            raise ValueError("two events of a conditional append carry the same op id")
        self.channel = events[0].channel
        self.expected_head = expected_head
        self.future = future
        # A group is never looked up by a key of its own: the writer checks its members' keys.
        self.op_key: int | None = None
