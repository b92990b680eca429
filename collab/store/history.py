"""Reading the log for operators: stored events by filter, one keyset page at a time, and the channels
with their heads and counts. Plain SQLAlchemy Core, the same statements on SQLite and PostgreSQL.

Pages are keyset pages (`seq > after … ORDER BY seq LIMIT n`) on the events' primary key
(channel, seq), never OFFSET: a page costs the same at the end of a long log as at its start, and
events appended meanwhile never shift a page boundary (seqs only grow). A filter with `text` is
answered by the search index (collab/store/search/), in the same seq order. A time window (`since`,
`until`) is first narrowed to a range of seqs: `event_hours` gives the ids the window's events lie
between (collab/store/hours.py), and since a channel's ids grow with its seqs (the writer allocates both
under the channel's lock), a bisection on the channel's seqs finds where those ids start and end. So the
window's events are read, not the channel's whole log, and each is still compared by its `created_at`.
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
from collab.store.hours import id_range
from collab.store.rows import EVENT_COLUMNS, aware, stored_event
from collab.store.schema import channel_members, channels, events
from collab.store.search.queries import SearchFilter, SearchQueries
from collab.store.search.query import parse_text_query
from collab.values import INT64_MAX


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


async def _window_seqs(
    conn: Any, channel: str, since: datetime | None, until: datetime | None
) -> tuple[int, int | None] | None:
    """The seqs of `channel` its events stored in `since`…`until` lie between, `(low, high)` (high None:
    no bound), or None when there are none (the module docstring says how)."""
    window = await id_range(conn, since, until)
    if window is None:
        return None
    low_id, high_id = window
    if low_id == 0 and high_id is None:
        return 0, None
    # Two queries: SQLite reads one end of the (channel, seq) index for min() or max() alone, but scans the
    # channel's entries for both at once.
    in_channel = events.c.channel == channel
    first_kept = (await conn.execute(sa.select(sa.func.min(events.c.seq)).where(in_channel))).scalar()
    if first_kept is None:
        return None
    last_kept = (await conn.execute(sa.select(sa.func.max(events.c.seq)).where(in_channel))).scalar()
    ends = (int(first_kept), int(last_kept))

    async def id_at(seq: int) -> int:
        found = (
            sa.select(events.c.id)
            .where(events.c.channel == channel, events.c.seq >= seq)
            .order_by(events.c.seq)
            .limit(1)
        )
        value = (await conn.execute(found)).scalar()
        return int(value) if value is not None else INT64_MAX  # pruned meanwhile: past every bound

    async def first_seq_from(bound: int) -> int | None:
        """The lowest seq whose id is at least `bound` (None: every id is below it)."""
        low, high = ends
        if await id_at(high) < bound:
            return None
        while low < high:
            middle = (low + high) // 2
            if await id_at(middle) >= bound:
                high = middle
            else:
                low = middle + 1
        return low

    first = await first_seq_from(low_id) if low_id else ends[0]
    if first is None:
        return None
    if high_id is None:
        return first, None
    after_window = await first_seq_from(high_id + 1)
    last = ends[1] if after_window is None else after_window - 1
    return (first, last) if last >= first else None


class HistoryQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.search = SearchQueries(engine)

    async def _rows(self, statement: Any) -> list[Any]:
        with translated():
            async with self.engine.connect() as conn:
                return list(await conn.execute(statement))

    def _select(self, channel: str, where: EventFilter, after: int, seqs: tuple[int, int | None]) -> Any:
        low, high = seqs
        query = sa.select(*EVENT_COLUMNS).where(
            events.c.channel == channel, events.c.seq > max(after, where.after, low - 1)
        )
        if where.before is not None:
            query = query.where(events.c.seq < where.before)
        if high is not None:
            query = query.where(events.c.seq <= high)
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
        with translated():
            async with self.engine.connect() as conn:
                seqs = await _window_seqs(conn, channel, where.since, where.until)
                if seqs is None:
                    return []
                rows = await conn.execute(self._select(channel, where, after, seqs).limit(limit))
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
