"""Events as the engine sees them: what a caller appends and what the store gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. `op_id` is the client's id for the operation: a retry with the same
    (channel, user_id, op_id) returns the stored event instead of storing a second one."""

    channel: str
    type: str
    data: Any = None
    blob: bytes | None = None
    user_id: str | None = None
    nickname: str | None = None
    op_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as it is in the log: `seq` is its position in its channel (1, 2, 3, … no gaps)."""

    channel: str
    seq: int
    type: str
    data: Any
    blob: bytes | None
    user_id: str | None
    nickname: str | None
    op_id: str | None
    created_at: datetime


class Appended(NamedTuple):
    """The answer to an append: the stored event, and whether this call stored it (False for a retry)."""

    event: StoredEvent
    new: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A projection's state at `seq` of `channel`: JSON in `data` or bytes in `blob` (CRDT documents)."""

    channel: str
    seq: int
    data: Any = None
    blob: bytes | None = None
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    name: str
    kind: str
    head: int
    private: bool
    created_at: datetime
    created_by: str | None
    members: frozenset[str] = frozenset()
