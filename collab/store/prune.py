"""Removing old events: always a prefix of a channel's log, in short transactions.

A channel's kept events must stay a gapless run ending at its head: resume (`first_seq`) and replay
rely on it. Timestamps are not ordered like seqs (two processes' clocks differ a little), so "events
older than T" is not deleted as such: the cut is the seq just before the first event at or after T,
and everything up to the cut goes. An event newer than T is never removed; one older than T may stay
when a newer one precedes it.

The events' rows of the search index go in the same transaction as the events (collab.store.search.writes):
a search never finds a pruned event.

What the cut may not pass (a snapshot for channels with projected state) is the caller's business:
`collab.operators.history.prune` takes the snapshot and passes its seq as `limit`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from collab.store.errors import translated
from collab.store.hours import forget
from collab.store.schema import channels, events
from collab.store.search.writes import after_prune, delete_rows

# Events deleted per transaction: a long delete would hold up the appends of the channel's writer.
DELETE_BATCH = 5000


class Pruner:
    def __init__(self, engine: AsyncEngine, *, batch: int = DELETE_BATCH) -> None:
        self.engine = engine
        self.batch = batch

    async def _scalar(self, statement: Any) -> Any:
        with translated():
            async with self.engine.connect() as conn:
                return (await conn.execute(statement)).scalar()

    async def channel_names(self) -> list[str]:
        with translated():
            async with self.engine.connect() as conn:
                return list((await conn.execute(sa.select(channels.c.name).order_by(channels.c.name))).scalars())

    async def cut(self, channel: str, older_than: datetime) -> tuple[int, int]:
        """(first kept seq now, the last seq a prune at `older_than` would remove); the second is below
        the first when there is nothing to remove."""
        older_than = older_than.astimezone(UTC) if older_than.tzinfo else older_than.replace(tzinfo=UTC)
        first = await self._scalar(sa.select(sa.func.min(events.c.seq)).where(events.c.channel == channel))
        if first is None:
            return 0, -1
        newer = await self._scalar(
            sa.select(sa.func.min(events.c.seq)).where(events.c.channel == channel, events.c.created_at >= older_than)
        )
        if newer is None:
            newer = int(await self._scalar(sa.select(sa.func.max(events.c.seq)).where(events.c.channel == channel))) + 1
        return int(first), int(newer) - 1

    async def delete_through(self, channel: str, first: int, last: int) -> int:
        """Delete the events of `channel` with seq ≤ `last` (those from `first` on), a batch per
        transaction, oldest first so that what is kept stays gapless if this stops half-way."""
        removed = 0
        low = first
        while low <= last:
            high = min(last, low + self.batch - 1)
            with translated():
                async with self.engine.begin() as conn:
                    await conn.run_sync(delete_rows, channel, high)
                    result = await conn.execute(
                        events.delete().where(events.c.channel == channel, events.c.seq <= high)
                    )
                    await conn.run_sync(after_prune)
            removed += result.rowcount or 0
            low = high + 1
        if removed:
            with translated():
                async with self.engine.begin() as conn:
                    await conn.run_sync(forget)
        return removed
