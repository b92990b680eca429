"""The database's figures for the monitor: events kept, and the bytes the database takes."""

from __future__ import annotations

import contextlib
import os

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from collab.store.errors import translated
from collab.store.schema import channels, events


def _file_sizes(*paths: str) -> int:
    total = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            total += os.stat(path).st_size
    return total


async def database_figures(engine: AsyncEngine) -> tuple[int, int]:
    """(events kept, bytes the database takes). A channel keeps a gapless run of seqs ending at its head
    (pruning removes a prefix), so it holds head - first kept seq + 1 events: one index probe per
    channel instead of counting millions of rows. `StoreError` when the database does not answer."""
    with translated():
        return await _figures(engine)


async def _figures(engine: AsyncEngine) -> tuple[int, int]:
    first = sa.select(sa.func.min(events.c.seq)).where(events.c.channel == channels.c.name).scalar_subquery()
    kept = channels.c.head_seq - sa.func.coalesce(first, channels.c.head_seq + 1) + 1
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(kept), 0)))).scalar_one()
        if engine.dialect.name == "postgresql":
            size = (await conn.execute(sa.text("SELECT pg_database_size(current_database())"))).scalar_one()
        else:
            path = engine.url.database
            if path and path != ":memory:":
                # The file and its write-ahead log: what the database takes on disk right now.
                size = _file_sizes(path, f"{path}-wal")
            else:
                pages = (await conn.exec_driver_sql("PRAGMA page_count")).scalar_one()
                size = pages * (await conn.exec_driver_sql("PRAGMA page_size")).scalar_one()
    return int(stored), int(size)


class DatabaseStats:
    """`database_figures` of one engine, as the monitor polls them."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def figures(self) -> tuple[int, int]:
        return await database_figures(self.engine)


__all__ = ["DatabaseStats", "database_figures"]
