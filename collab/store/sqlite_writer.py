"""SQLite's one writer connection, used on the event loop's thread, and its helpers (a reader for small
reads on that thread, the checkpoints). Besides the writer's batches, a channel's creation runs on it
(`SqlEventStore.create_channel`): through the pool, a storm of joins making rooms sent each to a pool
thread, which took the GIL from the loop (connects/s 1,515 → 1,792 at 10,000 sockets when it moved)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from collab.store.engine import make_sync_engine, sqlite_busy_timeout_ms
from collab.store.keyed import KeyedRead, converted, sqlite_parameters

log = logging.getLogger(__name__)


class SqliteWriteConnection:
    """SQLite's one writer connection, used on the event loop's thread.

    Why not a thread of its own: with the process on one CPU, a writer thread gives no parallelism,
    and pysqlite drops and retakes the GIL around every row it steps, so the thread waited for the
    busy event loop (up to the 5 ms switch interval) again and again. Inline, the same writer did
    36-39k events/s where the thread did 29-33k (bench/append_bench.py, A/B on one machine). The
    price: the loop is busy for the batch's duration (10-20 ms for 1,000 events), where it was busy
    with the hand-offs before.

    What could block the loop stays off it: waiting for another connection's write lock (this one fails
    fast with `busy_timeout=0`, and tries again every millisecond: `_begin_polling`), and checkpoints,
    which the loop's commits never run (`wal_autocheckpoint=0`); `executor` runs them in the background.
    """

    CHECKPOINT_EVERY = 1000  # rows committed between checkpoints (about 4 MB of WAL)
    POLL_SECONDS = 0.001  # between tries for a write lock another connection holds

    def __init__(self, async_url: sa.URL) -> None:
        # How long a batch waits for another process's write lock before its appends fail `unavailable`.
        self.busy_timeout_ms = sqlite_busy_timeout_ms()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        # The executor borrows the connection while the loop awaits it, so any thread may use it.
        self.engine = make_sync_engine(
            async_url.set(drivername="sqlite+pysqlite"), connect_args={"check_same_thread": False}
        )
        self._conn: sa.Connection | None = None
        self.driver: sqlite3.Connection  # `_conn`'s driver connection, set with it
        self._reader: sa.Connection | None = None
        self._checkpointer: sa.Connection | None = None
        self._checkpoint: asyncio.Future[None] | None = None
        self._rows_since_checkpoint = 0
        # One transaction at a time on the connection: the writer's batches, and the few other writes
        # that run here (a channel's creation). Taken without a wait when free.
        self._lock = asyncio.Lock()

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            # Op keys are random, so each batch touches pages all over their index: keep it in memory
            # (64 MiB, for this one connection) instead of re-reading pages from the OS every batch.
            conn.exec_driver_sql("PRAGMA cache_size=-65536")
            self._conn = conn
            # The writer's statements run on it (SQLAlchemy's execution costs them 100 µs a batch).
            self.driver = conn.connection.driver_connection
        return self._conn

    def read_now(self, read: KeyedRead, keys: Sequence[str]) -> list[tuple[Any, ...]] | None:
        """A small indexed read (the records and heads of the channels a burst of joins asks for) on the
        loop's thread, on a connection of its own: a few microseconds of SQLite, where the pool's way
        costs a checkout and four hops between the loop and aiosqlite's thread — which, in a storm of
        10,000 sockets connecting, queued reads past the pool's timeout. Run on the driver's connection
        (collab.store.keyed says why). WAL readers wait for no writer; None when SQLite is busy all the
        same (a recovery), and the caller reads the usual way."""
        if self._reader is None:
            reader = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            reader.exec_driver_sql("PRAGMA busy_timeout=0")
            self._reader = reader
        driver = self._reader.connection.driver_connection
        parameters = sqlite_parameters(keys)
        try:
            rows = driver.execute(read.sqlite_sql, parameters).fetchall()
        except sqlite3.Error as error:
            if isinstance(error, sqlite3.OperationalError) and _busy_code(error):
                return None
            # As SQLAlchemy would have raised it, for `translated` to make the engine's error of it.
            raise _as_sqlalchemy(error, read.sqlite_sql, parameters) from error
        return converted(read, rows)

    async def _begin_polling(self) -> None:
        """`BEGIN IMMEDIATE` once the connection holding the write lock lets go: tried every
        `POLL_SECONDS`, on the loop, for `busy_timeout_ms` at most (then SQLite's "database is locked",
        as SQLAlchemy raises it). SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25… ms between
        its tries: a lock released after 40, 60 or 80 ms (another connection's write: a document's
        snapshot or a read position, saved through the pool) was taken 13, 18 and 23 ms late, and the
        appends queued behind waited that much more (tests/store/test_concurrency.py)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout_ms / 1000
        while loop.time() < deadline:
            await asyncio.sleep(self.POLL_SECONDS)
            if self._begin_now():
                return
        self._connection().exec_driver_sql("BEGIN IMMEDIATE")  # a last try, which raises when still locked

    async def transaction(self, work: Callable[..., Any], argument: list[Any], *more: Any) -> Any:
        """`work(conn, argument, *more)` in one `BEGIN IMMEDIATE` transaction (the write lock is taken
        before the heads are read), committed before this returns.

        `work` may run its statements on the driver's connection (`driver`), as the writer's batch does:
        an error of the driver's leaves here as SQLAlchemy would have raised it, so callers handle one
        kind of error.

        With the connection free and the write lock to be had at once (every batch, but when another
        process writes), the transaction runs straight through: nothing in it suspends, so nothing else
        can use the connection meanwhile, and `_lock` is not needed. That is a lone message's case, which
        the lock's acquire and a coroutine more cost 3 µs of 50."""
        if not self._lock.locked() and self._begin_now():
            return self._run(work, argument, more)
        async with self._lock:
            if not self._begin_now():
                await self._begin_polling()
            return self._run(work, argument, more)

    def _begin_now(self) -> bool:
        """`BEGIN IMMEDIATE` without waiting: False when another connection holds the write lock."""
        self._connection()
        try:
            self.driver.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            if isinstance(error, sqlite3.OperationalError) and _busy_code(error):
                return False
            self._rollback()
            raise _as_sqlalchemy(error) from error
        return True

    def _run(self, work: Callable[..., Any], argument: list[Any], more: tuple[Any, ...]) -> Any:
        """The body of a begun transaction, then its commit (or its rollback)."""
        conn = self._connection()
        try:
            result = work(conn, argument, *more)
            self.driver.execute("COMMIT")
        except BaseException as error:
            self._rollback()
            if isinstance(error, sqlite3.Error):
                raise _as_sqlalchemy(error) from error
            raise
        self._after_commit(len(argument))
        return result

    def _rollback(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.exec_driver_sql("ROLLBACK")
        except sa_exc.SQLAlchemyError:
            self._conn.invalidate()
            self._conn = None

    def _after_commit(self, rows: int) -> None:
        # Rows stand in for pages written: a random insert into the op-key index dirties a page of its
        # own, so a batch writes about one page per row plus a few.
        self._rows_since_checkpoint += rows
        if self._rows_since_checkpoint >= self.CHECKPOINT_EVERY and self._checkpoint is None:
            self._rows_since_checkpoint = 0
            self._checkpoint = asyncio.get_running_loop().run_in_executor(self.executor, self._run_checkpoint)
            self._checkpoint.add_done_callback(self._checkpoint_done)

    def _run_checkpoint(self) -> None:
        """A PASSIVE checkpoint on a connection of its own: it copies committed WAL frames into the
        database file (and syncs it) without blocking the writer or the readers."""
        if self._checkpointer is None:
            self._checkpointer = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._checkpointer.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def _checkpoint_done(self, future: asyncio.Future[None]) -> None:
        self._checkpoint = None
        if not future.cancelled() and future.exception() is not None:
            log.warning("SQLite checkpoint failed: %s", future.exception())

    def close(self) -> None:
        """Close the connections (SQLite checkpoints when the last one closes). Runs in `executor`."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self.engine.dispose()


def _as_sqlalchemy(error: sqlite3.Error, statement: str = "", parameters: Any = None) -> sa_exc.DBAPIError:
    """A driver's error as SQLAlchemy raises it (`OperationalError`, `IntegrityError`, …)."""
    return sa_exc.DBAPIError.instance(statement, parameters, error, sqlite3.Error)


def _busy_code(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
