"""An event as a row of `events`: encoded in the caller before the writer takes it (`Pending`), so the
writer's transaction does no per-row work but allocating seqs; and read back (`stored_event`)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from collab.errors import StoreError
from collab.events import Appended, NewEvent, StoredEvent
from collab.store.schema import events

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

    __slots__ = ("channel", "created_at", "event", "future", "op_key", "row")

    def __init__(self, event: NewEvent, future: asyncio.Future[Appended], text_timestamps: bool) -> None:
        created_at = event.created_at
        if created_at.tzinfo is not UTC:  # `utcnow()` gives UTC itself; asking utcoffset() costs 1 us
            created_at = _as_utc(created_at)
        data = event.data
        try:
            encoded = None if data is None else orjson.dumps(data).decode()
        except orjson.JSONEncodeError as error:
            raise StoreError(f"the event's data is not JSON: {error}") from error
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
            created_at.isoformat(" ", "microseconds")[:26] if text_timestamps else created_at,
        )
