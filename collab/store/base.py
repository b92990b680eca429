"""The event store port. Every implementation passes the one contract suite in tests/store/."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from collab.errors import Conflict
from collab.events import Appended, ChannelInfo, NewEvent, Snapshot, StoredEvent


class StaleHead(Conflict):
    """A conditional append (`EventStore.append_at_head`) found the channel's head moved past the one
    its events were decided at: nothing of them was stored. `head` is the head it found."""

    def __init__(self, channel: str, expected: int, head: int) -> None:
        super().__init__(f"channel {channel!r} is at seq {head}, not {expected}: decide again")
        self.channel = channel
        self.expected = expected
        self.head = head


class EventStore(Protocol):
    """An append-only log of events, one gapless sequence per channel.

    Contract:
    - `append` answers only after the event is committed (durable). Appends that arrive together are
      committed together (group commit); the order of calls on one channel is the order of their seqs.
      The callers answered by one commit resume in the order of their seqs (one process publishes each
      event as its caller resumes, and its broker has no sequencer).
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

    async def append_at_head(self, events: Sequence[NewEvent], expected_head: int) -> list[Appended]:
        """Append `events` (one channel's, at least one) only if that channel's head is still
        `expected_head`: optimistic concurrency for a command decided against the channel at that seq.

        - All or nothing: stored with seqs `expected_head + 1 …` in order, in one transaction, or not
          at all. The check and the append happen under the lock that orders the channel's appends, so
          of several calls with the same expected head (from any process) at most one succeeds.
        - Head moved: `StaleHead` (carrying the head found), nothing stored. Other appends queued with
          it (plain or conditional, this channel or another) are not affected; on one channel they are
          checked in call order, so a second call must expect the head the first one left.
        - A retry: when an op id of `events` was stored already (same channel, user and op id), the
          call is a retry of a group stored before: nothing is stored, whatever the head, and the
          answer is the stored event of each op id of `events` (in their order) with `new=False`.
        - `ValueError` at the call, nothing queued: no events, events of several channels, a negative
          `expected_head`, an op id twice; `StoreError` for a payload that is not JSON.
        """
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
