"""A user's direct-message channels, newest first, one keyset page at a time (the chat page's list of
conversations: collab.chat.conversations turns these rows into what the socket sends).

The user's channels come from `channel_members` by its `user_id` index (a DM channel's two users are its
members from its first message), so a page costs the user's own DM channels, never a scan of the
channels or the log; each of those is then one index probe into `events` for its head event (its
global id orders the list; its time is shown) and one into `read_positions`. The other user's name is
read for the page's rows only, from their last `private` event among the channel's last
`NAME_LOOKBACK` events: a bounded probe rather than a walk back through a long one-sided conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from collab.store.errors import translated
from collab.store.rows import aware
from collab.store.schema import channel_members, channels, events, read_positions

# How far back from a channel's head the other user's name is looked for.
NAME_LOOKBACK = 100


@dataclass(frozen=True)
class DmChannelRow:
    """One DM channel of a user. `last_id`: the global id of its head event (the list's order; 0 when
    that event is no longer kept), `last_at` its time (None then); `last_read`: the user's read position;
    `named_by`, `nickname`: who wrote the channel's last `private` event other than the user, and under
    what name (None when none is near the head)."""

    channel: str
    head: int
    last_id: int
    last_at: datetime | None
    last_read: int
    named_by: str | None
    nickname: str | None

    @property
    def cursor(self) -> tuple[int, str]:
        """Where the next page starts: after this row, in the list's order."""
        return self.last_id, self.channel


def page_query(user_id: str, limit: int, after: tuple[int, str] | None) -> sa.Select[Any]:
    """The statement of `DmChannels.of_user` (tests read its plan)."""
    head = events.alias("head")
    last_id = sa.func.coalesce(head.c.id, 0)
    page = (
        sa.select(
            channels.c.name,
            channels.c.head_seq,
            last_id.label("last_id"),
            head.c.created_at.label("last_at"),
            sa.func.coalesce(read_positions.c.seq, 0).label("last_read"),
        )
        .select_from(channel_members)
        .join(channels, channels.c.name == channel_members.c.channel)
        .outerjoin(head, sa.and_(head.c.channel == channels.c.name, head.c.seq == channels.c.head_seq))
        .outerjoin(
            read_positions,
            sa.and_(read_positions.c.channel == channels.c.name, read_positions.c.user_id == user_id),
        )
        .where(channel_members.c.user_id == user_id, channels.c.kind == "dm", channels.c.head_seq > 0)
    )
    if after is not None:
        after_id, after_name = after
        page = page.where(sa.or_(last_id < after_id, sa.and_(last_id == after_id, channels.c.name > after_name)))
    rows = page.order_by(last_id.desc(), channels.c.name).limit(limit).subquery("page")
    # The name is read for the page's rows only (after the limit), by a bounded probe each.
    said = (
        sa.select(events.c.user_id, events.c.nickname)
        .where(
            events.c.channel == rows.c.name,
            events.c.seq > rows.c.head_seq - NAME_LOOKBACK,
            events.c.type == "private",
            events.c.user_id != user_id,
        )
        .order_by(events.c.seq.desc())
        .limit(1)
    )
    return sa.select(
        rows,
        said.with_only_columns(events.c.user_id).scalar_subquery().label("named_by"),
        said.with_only_columns(events.c.nickname).scalar_subquery().label("nickname"),
    ).order_by(rows.c.last_id.desc(), rows.c.name)


class DmChannels:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def of_user(self, user_id: str, *, limit: int, after: tuple[int, str] | None = None) -> list[DmChannelRow]:
        """At most `limit` DM channels `user_id` is a member of and that have events, newest head event
        first (ties by name), starting after the cursor `after` (a row's `cursor`)."""
        with translated():
            async with self.engine.connect() as conn:
                found = list(await conn.execute(page_query(user_id, limit, after)))
        return [
            DmChannelRow(
                channel=row.name,
                head=int(row.head_seq),
                last_id=int(row.last_id),
                last_at=aware(row.last_at) if row.last_at is not None else None,
                last_read=int(row.last_read),
                named_by=row.named_by,
                nickname=row.nickname,
            )
            for row in found
        ]
