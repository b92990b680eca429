"""The event store port. Every implementation passes the one contract suite in tests/store/."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from collab.events import Appended, ChannelInfo, NewEvent, Snapshot, StoredEvent


class EventStore(Protocol):
    """An append-only log of events, one gapless sequence per channel.

    Contract:
    - `append` answers only after the event is committed (durable). Appends that arrive together are
      committed together (group commit); the order of calls on one channel is the order of their seqs.
    - Per channel, `seq` starts at 1 and grows by exactly 1, also with several processes appending to
      one database. Once a reader has seen seq N, every seq below N is readable too.
    - A retry with the same (channel, user_id, op_id) returns the stored event with `new=False` and stores
      nothing. Events without an op_id are never deduplicated.
    - Appending to an unknown channel creates it (kind from its name, public).
    - `created_at` is stored and returned in UTC (a naive one is taken as UTC), to the microsecond.
    - Errors: `StoreError` for anything the database refuses. An event the database refuses fails only
      its own caller, the others of that batch are still committed; a lost connection or a lock that
      cannot be had fails the whole batch. A payload that is not JSON is refused at the call, before
      anything is queued (for `append_many`, all of its events).
    """

    async def append(self, event: NewEvent) -> Appended: ...

    async def append_many(self, events: Sequence[NewEvent]) -> list[Appended]:
        """Append in order, committed in one transaction where possible."""
        ...

    async def read(
        self, channel: str, after: int = 0, before: int | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        """Events of `channel` with after < seq < before, in seq order, at most `limit`."""
        ...

    async def head(self, channel: str) -> int:
        """The channel's last seq; 0 for an empty or unknown channel."""
        ...

    async def heads(self, channels: Iterable[str]) -> dict[str, int]: ...

    async def first_seq(self, channel: str) -> int:
        """The lowest seq still kept (events before it were pruned); head + 1 when none are kept."""
        ...

    async def create_channel(
        self, name: str, *, created_by: str | None = None, private: bool = False, members: Iterable[str] = ()
    ) -> ChannelInfo:
        """Create a channel; `Conflict` if it exists."""
        ...

    async def get_channel(self, name: str) -> ChannelInfo | None: ...

    async def list_channels(self) -> list[ChannelInfo]: ...

    async def add_member(self, channel: str, user_id: str) -> None: ...

    async def remove_member(self, channel: str, user_id: str) -> None: ...

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store a projection's state at a seq; saving the same (channel, seq) again replaces it."""
        ...

    async def latest_snapshot(self, channel: str, max_seq: int | None = None) -> Snapshot | None:
        """The snapshot with the highest seq (≤ max_seq when given)."""
        ...

    async def close(self) -> None:
        """Commit what is pending, answer its callers, then release the database."""
        ...
