"""PostgreSQL's writer connection: one connection of the engine's pool, held by the writer, its batches
run on the driver (asyncpg) directly.

Why not `engine.begin()` and `run_sync` per batch, as before: a pool checkout and return, a greenlet
switch per statement and SQLAlchemy's execution around the four round trips (begin, lock the heads,
write, commit) doubled the CPU a message alone in its batch costs: 960 µs then, 500 µs now
(bench/append_bench.py --callers 1 --words, pinned to one CPU, medians of 3). The statements are
compiled once by SQLAlchemy (`PostgresStatements`); a driver's error leaves here as SQLAlchemy would
have raised it, so the writer's callers handle one kind of error, and a connection that broke is
invalidated and replaced by the pool at the next batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from collab.store.rows import EVENT_COLUMNS
from collab.store.schema import channels, events
from collab.store.statements import compile_positional


@dataclass(frozen=True, slots=True)
class PostgresStatements:
    """The writer's statements besides the batch's write (`collab.store.statements.Statements.write_sql`)."""

    create_channels: str  # $1 name, $2 kind, $3 created_at: a channel not seen before
    lock_heads: str  # $1 names: the channels' heads, their rows locked in name order
    # $1 op keys: the stored events carrying one (EVENT_COLUMNS, op_key; the connection decodes JSONB, as
    # the engine set it up to)
    find_ops: str

    @classmethod
    def compile(cls, dialect: sa.Dialect) -> PostgresStatements:
        create = (
            postgresql.insert(channels)
            .values(name=sa.bindparam("name"), kind=sa.bindparam("kind"), created_at=sa.bindparam("created_at"))
            .on_conflict_do_nothing()
        )
        names = sa.bindparam("names", type_=postgresql.ARRAY(sa.String))
        lock = (
            sa.select(channels.c.name, channels.c.head_seq)
            .where(channels.c.name == sa.any_(names))
            .order_by(channels.c.name)
            .with_for_update()
        )
        keys = sa.bindparam("keys", type_=postgresql.ARRAY(sa.BigInteger))
        find = sa.select(*EVENT_COLUMNS, events.c.op_key).where(events.c.op_key == sa.any_(keys))
        return cls(
            compile_positional(create, dialect, ("name", "kind", "created_at")),
            compile_positional(lock, dialect, ("names",)),
            compile_positional(find, dialect, ("keys",)),
        )


def _breaks_the_connection(error: Exception) -> bool:
    """Whether `error` leaves the connection unusable, even before the driver has seen it close: a
    lost connection, a protocol out of step (asyncpg's InternalClientError, as after the server
    terminated the session), or the server's own word (SQLSTATE 08: connection exception; 57P:
    shutting down, terminated by an operator)."""
    if not isinstance(error, asyncpg.PostgresError):
        return True
    state = getattr(error, "sqlstate", None) or ""
    return state.startswith(("08", "57P"))


class PostgresWriteConnection:
    """The writer's one connection (see the module docstring); used by one task at a time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.statements = PostgresStatements.compile(engine.dialect)
        self._conn: AsyncConnection | None = None
        self._driver: asyncpg.Connection | None = None

    async def _connection(self) -> asyncpg.Connection:
        if self._driver is None:
            conn = await self.engine.connect()  # its errors are SQLAlchemy's already
            try:
                raw = await conn.get_raw_connection()
                self._driver = raw.driver_connection
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._driver

    async def transaction(self, work: Callable[..., Awaitable[Any]], *arguments: Any) -> Any:
        """`await work(driver, *arguments)` in one transaction, committed before this returns."""
        driver = await self._connection()
        try:
            async with driver.transaction():
                return await work(driver, *arguments)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError) as error:
            if not (driver.is_closed() or _breaks_the_connection(error)):
                raise self._as_sqlalchemy(error) from error
            # Whatever the batch's fate (a commit may have gone through before the connection broke),
            # the connection is done: the pool makes a new one for the next batch.
            await self._discard()
            if isinstance(error, OSError):
                raise  # the connection's own (collab.store.errors takes it as it is)
            raise sa_exc.InterfaceError(None, None, error, connection_invalidated=True) from error

    def _as_sqlalchemy(self, error: Exception) -> sa_exc.DBAPIError:
        """A driver's error as SQLAlchemy raises it (`IntegrityError`, `DataError`, …)."""
        dbapi = self.engine.dialect.loaded_dbapi
        try:
            AsyncAdapt_asyncpg_connection._handle_exception_no_connection(dbapi, error)
        except Exception as translated:
            error = translated
        return sa_exc.DBAPIError.instance(None, None, error, dbapi.Error, dialect=self.engine.dialect)

    async def _discard(self) -> None:
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except Exception:
                pass

    async def close(self) -> None:
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            await conn.close()
