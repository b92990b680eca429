"""Events as the engine sees them: what a caller appends and what the store gives back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple


def utcnow() -> datetime:
    return datetime.now(UTC)


# The type of an event a backend (the publish API) or a socket's `publish` frame stored: its payload is
# `{"event": name, "data": ...}` (collab.realtime.publishing; the search index reads its `data`).
PUBLISHED_TYPE = "event"


# NewEvent and StoredEvent are built once per append, on the hottest path. The `__init__` a frozen
# dataclass generates assigns each field through `object.__setattr__` (about 2.3 µs for nine fields);
# these hand-written ones store into the slots through their descriptors (about 0.9 µs). They take
# the same arguments with the same defaults; the rest (eq, hash, repr, `replace`, `fields`) is still
# generated, and assigning to a field still raises `FrozenInstanceError`.


def _slot_setters(cls: type, names: str) -> list[Callable[[Any, Any], None]]:
    return [cls.__dict__[name].__set__ for name in names.split()]


@dataclass(frozen=True, slots=True, init=False)
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

    def __init__(
        self,
        channel: str,
        type: str,
        data: Any = None,
        blob: bytes | None = None,
        user_id: str | None = None,
        nickname: str | None = None,
        op_id: str | None = None,
        created_at: datetime | None = None,
    ) -> None:
        _ne_channel(self, channel)
        _ne_type(self, type)
        _ne_data(self, data)
        _ne_blob(self, blob)
        _ne_user_id(self, user_id)
        _ne_nickname(self, nickname)
        _ne_op_id(self, op_id)
        _ne_created_at(self, utcnow() if created_at is None else created_at)


_ne_channel, _ne_type, _ne_data, _ne_blob, _ne_user_id, _ne_nickname, _ne_op_id, _ne_created_at = _slot_setters(
    NewEvent, "channel type data blob user_id nickname op_id created_at"
)


@dataclass(frozen=True, slots=True, init=False)
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

    def __init__(
        self,
        channel: str,
        seq: int,
        type: str,
        data: Any,
        blob: bytes | None,
        user_id: str | None,
        nickname: str | None,
        op_id: str | None,
        created_at: datetime,
    ) -> None:
        _se_channel(self, channel)
        _se_seq(self, seq)
        _se_type(self, type)
        _se_data(self, data)
        _se_blob(self, blob)
        _se_user_id(self, user_id)
        _se_nickname(self, nickname)
        _se_op_id(self, op_id)
        _se_created_at(self, created_at)


(
    _se_channel,
    _se_seq,
    _se_type,
    _se_data,
    _se_blob,
    _se_user_id,
    _se_nickname,
    _se_op_id,
    _se_created_at,
) = _slot_setters(StoredEvent, "channel seq type data blob user_id nickname op_id created_at")


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
