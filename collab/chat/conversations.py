"""A user's direct-message conversations as the `dms` frame lists them (docs/protocol.md, "Direct
messages"): the other user, the channel's head and the user's read position, newest first, a page at a
time.

The rows come from the store (collab.store.conversations: the channels the user is a stored member of);
who the other user is comes from the channel's name (collab.chat.dm_names), which is also who may read
it: a stored member the name does not spell gets nothing, and nobody, an admin included, gets another
user's conversations here.
"""

from __future__ import annotations

from typing import Any

from collab.chat.dm_names import dm_pair, dm_readers
from collab.errors import ProtocolError
from collab.store.base import EventStore
from collab.store.conversations import DmChannelRow, DmChannels
from collab.timetext import wire_timestamp

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# A cursor is `<last event id>.<channel>`: what `DmChannelRow.cursor` holds, as text.
MAX_CURSOR = 240


def encode_cursor(cursor: tuple[int, str]) -> str:
    return f"{cursor[0]}.{cursor[1]}"


def decode_cursor(text: object) -> tuple[int, str]:
    """The cursor a `next` gave; `ProtocolError` for anything else."""
    if isinstance(text, str) and len(text) <= MAX_CURSOR:
        last_id, _, channel = text.partition(".")
        if last_id.isascii() and last_id.isdigit() and len(last_id) <= 19 and int(last_id) < 2**63 and channel:
            return int(last_id), channel
    raise ProtocolError("field 'before' must be the 'next' of an earlier 'dms' frame")


def check_limit(value: object) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise ProtocolError(f"field 'limit' must be a whole number from 1 to {MAX_LIMIT}")
    return value


class Conversations:
    """`index` finds the user's DM channels; `store` is asked for the members of an old-form channel
    (one whose name alone does not say its pair: collab.chat.dm_names)."""

    def __init__(self, index: DmChannels, store: EventStore) -> None:
        self.index = index
        self.store = store

    async def _peer(self, user_id: str, channel: str) -> str | None:
        """The other user of `channel` as `user_id` sees it; None if `user_id` may not read it."""
        pair = dm_pair(channel)
        if pair is None:
            info = await self.store.get_channel(channel)
            readers = dm_readers(channel, info.members if info is not None else ())
            if user_id not in readers:
                return None
            pair = (min(readers), max(readers))
        if user_id not in pair:
            return None
        return pair[1] if pair[0] == user_id else pair[0]

    def _entry(self, row: DmChannelRow, peer: str) -> dict[str, Any]:
        return {
            "channel": row.channel,
            "peer": peer,
            "peer_name": row.nickname if row.named_by == peer else None,
            "seq": row.head,
            "last_read": row.last_read,
            "unread": max(0, row.head - row.last_read),
            "last_event_at": wire_timestamp(row.last_at) if row.last_at is not None else None,
        }

    async def frame(self, user_id: str, *, limit: int = DEFAULT_LIMIT, before: str | None = None) -> dict[str, Any]:
        """The `dms` frame: at most `limit` conversations after the cursor `before` (a `next`), and the
        `next` cursor when more may follow (else None)."""
        after = decode_cursor(before) if before is not None else None
        rows = await self.index.of_user(user_id, limit=limit + 1, after=after)
        more = len(rows) > limit
        rows = rows[:limit]
        entries = []
        for row in rows:
            peer = await self._peer(user_id, row.channel)
            if peer is not None:
                entries.append(self._entry(row, peer))
        return {
            "type": "dms",
            "dms": entries,
            "before": before,
            "next": encode_cursor(rows[-1].cursor) if more else None,
        }
