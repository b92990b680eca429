"""Read positions: the last seq each user has read in each channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from collab.events import utcnow
from collab.store.batching import TurnBatch
from collab.store.errors import translated
from collab.store.keyed import KEYS, KeyedRead, keyed_read
from collab.store.schema import read_positions

# Built once (every join reads positions): a statement built per call costs a cache-key walk each time.
_OF_USERS = keyed_read(
    (read_positions.c.user_id, read_positions.c.channel, read_positions.c.seq), read_positions.c.user_id
)


SmallRead = Callable[[KeyedRead, Sequence[str]], Awaitable[Sequence[Sequence[Any]]]]


class ReadPositions:
    def __init__(self, engine: AsyncEngine, *, read_small: SmallRead | None = None) -> None:
        """`read_small`: how a few users' positions are read (`SqlEventStore.read_small`: on SQLite on
        the loop's thread); by default through the pool."""
        self.engine = engine
        self._read_small = read_small
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        # A burst of joins asks for many users' positions at once: one query per turn answers them.
        self._of_user: TurnBatch[str, dict[str, int]] = TurnBatch(self._of_user_ids)

    async def mark(self, channel: str, user_id: str, seq: int) -> int:
        """Move the user's position forward to `seq` (never back); returns the position now stored."""
        statement = self._insert(read_positions).values(channel=channel, user_id=user_id, seq=seq, updated_at=utcnow())
        statement = statement.on_conflict_do_update(
            index_elements=[read_positions.c.channel, read_positions.c.user_id],
            set_={
                "seq": sa.func.max(read_positions.c.seq, statement.excluded.seq)
                if self.engine.dialect.name == "sqlite"
                else sa.func.greatest(read_positions.c.seq, statement.excluded.seq),
                "updated_at": statement.excluded.updated_at,
            },
        )
        with translated():
            async with self.engine.begin() as conn:
                await conn.execute(statement)
                stored = await conn.execute(
                    sa.select(read_positions.c.seq).where(
                        read_positions.c.channel == channel, read_positions.c.user_id == user_id
                    )
                )
                return int(stored.scalar_one())

    async def of_user(self, user_id: str) -> dict[str, int]:
        """channel -> seq for one user (read with the other users asked for in the same turn)."""
        return await self._of_user.get(user_id) or {}

    async def _of_user_ids(self, user_ids: list[str]) -> dict[str, dict[str, int]]:
        return await self.of_users(set(user_ids))

    async def of_users(self, user_ids: set[str]) -> dict[str, dict[str, int]]:
        """user -> channel -> seq, for many users in one query (in chunks, under parameter limits)."""
        found: dict[str, dict[str, int]] = {}
        ids = sorted(user_ids)
        for start in range(0, len(ids), 1000):
            for user_id, channel, seq in await self._read(ids[start : start + 1000]):
                found.setdefault(user_id, {})[channel] = seq
        return found

    async def _read(self, user_ids: list[str]) -> Sequence[Sequence[Any]]:
        if self._read_small is not None:
            return await self._read_small(_OF_USERS, user_ids)
        with translated():
            async with self.engine.connect() as conn:
                return list(await conn.execute(_OF_USERS.portable, {KEYS: user_ids}))

    async def of_channel(self, channel: str) -> dict[str, int]:
        with translated():
            async with self.engine.connect() as conn:
                rows = await conn.execute(
                    sa.select(read_positions.c.user_id, read_positions.c.seq).where(read_positions.c.channel == channel)
                )
                return {user_id: seq for user_id, seq in rows}
