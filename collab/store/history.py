"""Reading the log for operators: stored events by filter, one keyset page at a time, and the channels
with their heads and counts. Plain SQLAlchemy Core, the same statements on SQLite and PostgreSQL.

Pages are keyset pages (`seq > after … ORDER BY seq LIMIT n`) on the events' primary key
(channel, seq), never OFFSET: a page costs the same at the end of a long log as at its start, and
events appended meanwhile never shift a page boundary (seqs only grow). A filter with `text` is
answered by the search index (collab/store/search/), in the same seq order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from collab.events import StoredEvent
from collab.store.errors import translated
from collab.store.rows import EVENT_COLUMNS, aware, stored_event
from collab.store.schema import channel_members, channels, events
from collab.store.search.queries import SearchFilter, SearchQueries
from collab.store.search.query import parse_text_query


@dataclass(frozen=True)
class EventFilter:
    """Which events of a channel: `after < seq < before`, `since <= created_at < until` (UTC),
    `type` in `types`, `user_id` in `users` (empty: any), and with `text`, a search of what users typed
    (collab.store.search.typed) in the search box's language (collab.store.search.query: words,
    "phrases", prefix*), which only events with typed text can match."""

    after: int = 0
    before: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    types: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    text: str | None = None


@dataclass(frozen=True)
class ChannelStats:
    """A channel as operators list it. `events` counts the events still kept: seqs are gapless and
    pruning removes a prefix, so that is `head - first_seq + 1`."""

    name: str
    kind: str
    private: bool
    head: int
    first_seq: int | None
    events: int
    members: int
    created_at: datetime
    created_by: str | None
    last_event_at: datetime | None


def _utc(moment: datetime) -> datetime:
    """UTC and naive-free: SQLite compares timestamps as text, written in UTC without a zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class HistoryQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.search = SearchQueries(engine)

    async def _rows(self, statement: Any) -> list[Any]:
        with translated():
            async with self.engine.connect() as conn:
                return list(await conn.execute(statement))

    def _select(self, channel: str, where: EventFilter, after: int) -> Any:
        query = sa.select(*EVENT_COLUMNS).where(events.c.channel == channel, events.c.seq > max(after, where.after))
        if where.before is not None:
            query = query.where(events.c.seq < where.before)
        if where.since is not None:
            query = query.where(events.c.created_at >= _utc(where.since))
        if where.until is not None:
            query = query.where(events.c.created_at < _utc(where.until))
        if where.types:
            query = query.where(events.c.type.in_(where.types))
        if where.users:
            query = query.where(events.c.user_id.in_(where.users))
        return query.order_by(events.c.seq)

    async def page(self, channel: str, where: EventFilter, *, after: int = 0, limit: int = 100) -> list[StoredEvent]:
        """At most `limit` matching events with seq > `after` (and > `where.after`), in seq order.
        `ProtocolError` for a `text` the search box's language refuses."""
        if where.text:
            searched = SearchFilter(
                parse_text_query(where.text),
                channels=(channel,),
                users=where.users,
                types=where.types,
                since=where.since,
                until=where.until,
                after=max(after, where.after),
                before=where.before,
            )
            hits = await self.search.page(searched, limit=limit, newest_first=False)
            return [hit.event for hit in hits]
        rows = await self._rows(self._select(channel, where, after).limit(limit))
        return [stored_event(row) for row in rows]

    async def iterate(
        self, channel: str, where: EventFilter, *, after: int = 0, limit: int | None = None, batch: int = 1000
    ) -> AsyncIterator[list[StoredEvent]]:
        """Every matching event (at most `limit`), in seq order, in batches of at most `batch`. Each batch
        is its own short query: an export of millions of events holds no transaction open."""
        position, left = after, limit
        while left is None or left > 0:
            size = batch if left is None else min(batch, left)
            found = await self.page(channel, where, after=position, limit=size)
            if found:
                yield found
                position = found[-1].seq
                if left is not None:
                    left -= len(found)
            if len(found) < size:
                return

    async def channels(self, kinds: tuple[str, ...] = ()) -> list[ChannelStats]:
        """Every channel (of `kinds`, if given) by name. Each figure is an index lookup per channel, not
        a scan of the log: the first kept seq, the time of the head event, the number of members."""
        first = sa.select(sa.func.min(events.c.seq)).where(events.c.channel == channels.c.name).scalar_subquery()
        last_at = (
            sa.select(events.c.created_at)
            .where(events.c.channel == channels.c.name, events.c.seq == channels.c.head_seq)
            .scalar_subquery()
        )
        members = (
            sa.select(sa.func.count())
            .select_from(channel_members)
            .where(channel_members.c.channel == channels.c.name)
            .scalar_subquery()
        )
        query = sa.select(
            channels.c.name,
            channels.c.kind,
            channels.c.private,
            channels.c.head_seq,
            channels.c.created_at,
            channels.c.created_by,
            first.label("first_seq"),
            last_at.label("last_event_at"),
            members.label("members"),
        ).order_by(channels.c.name)
        if kinds:
            query = query.where(channels.c.kind.in_(kinds))
        found = []
        for row in await self._rows(query):
            head = int(row.head_seq)
            first_seq = int(row.first_seq) if row.first_seq is not None else None
            found.append(
                ChannelStats(
                    name=row.name,
                    kind=row.kind,
                    private=bool(row.private),
                    head=head,
                    first_seq=first_seq,
                    events=head - first_seq + 1 if first_seq is not None else 0,
                    members=int(row.members or 0),
                    created_at=aware(row.created_at),
                    created_by=row.created_by,
                    last_event_at=aware(row.last_event_at) if row.last_event_at is not None else None,
                )
            )
        return found
