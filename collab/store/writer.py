"""Group commit for `SqlEventStore.append`: one writer commits everything pending in one transaction.

`append` prepares its row (JSON encoded, timestamp in UTC, op key hashed; `collab.store.rows`) in the
caller, puts it on the pending list and waits. The writer takes up to `max_batch` pending events, commits
them in one transaction and only then answers their callers. While a batch commits, the next one gathers,
so the number of transactions falls as the load rises.

Ordering: the writer locks the rows of the batch's channels (`SELECT … FOR UPDATE` in name order on
PostgreSQL; `BEGIN IMMEDIATE`, the database-wide write lock, on SQLite) before it reads their heads.
So two processes appending to one channel allocate seqs one transaction after the other, and a
channel's seqs commit in seq order: a reader who sees seq N can read every seq below it. The op-id
lookup runs under that lock too, which is why a retry racing its original from another process
still finds it.

Conditional appends (`append_at_head`): a group of one channel's events is one item of the batch,
checked where the batch reaches it, under those same locks, against the head as the batch has moved
it so far: at the expected head it is allocated like any event; otherwise it gets `StaleHead` and
allocates nothing, and the rest of the batch commits as usual. A group repeating a stored op id is a
retry and is answered with the stored events whatever the head; without the op-id lookup (see
`_write`) a stale group with op ids looks its own keys up first, so a retry is never called stale.

On PostgreSQL the search index (collab/store/search/) is written in the same transaction: each event's
index row is made in the caller with its event row (`Pending.terms`), and the batch inserts both, so a
search never sees an event that did not commit, nor misses one that did. On SQLite the index follows the
log: the writer indexes what it committed a few hundred events at a time, between its batches, and a
search indexes what is left first (collab/store/search/catch_up.py; collab/store/search/writes.py says
why). The batch's hours (`event_hours`, collab/store/hours.py), which turn a time window into a range of
ids, are written with it (on SQLite only when its ids leave what this writer's rows cover already:
`SqliteHours`).

What a batch writes is decided once for both databases, by pure code (`collab.store.batch_plan`),
between reading the heads and writing the rows. The I/O is each database's own, on its driver's
connection: SQLite's sync, on the event loop's thread (`collab.store.sqlite_writer`); PostgreSQL's
async, on a connection the writer holds (`collab.store.pg_writer`). The hot statements are compiled
once and executed with ready-made parameters, so no per-row type processing happens in SQLAlchemy
(`collab.store.statements`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from collab.errors import CollabError, StoreError
from collab.events import Appended, NewEvent, StoredEvent, utcnow
from collab.naming import channel_kind
from collab.store import notify
from collab.store.batch_plan import GroupLookup, Item, Plan, Result, op_keys, plan_batch, plan_with_lookups
from collab.store.errors import translate
from collab.store.hours import SQLITE_WIDEN, SqliteHours, sqlite_spans
from collab.store.keyed import sqlite_parameters
from collab.store.pg_writer import PostgresWriteConnection
from collab.store.rows import Pending, PendingGroup, stored_event
from collab.store.search.catch_up import SearchCatchUp
from collab.store.search.rows import indexer
from collab.store.sqlite_writer import SqliteWriteConnection
from collab.store.statements import HEAD_SQLITE, HEADS, statements_for

__all__ = ["BatchWriter"]

log = logging.getLogger(__name__)


class BatchWriter:
    """Commits pending appends in batches; see the module docstring."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.max_batch = max_batch
        self.known_channels: set[str] = set()
        self._sqlite_rows = self.dialect == "sqlite"
        self._index = indexer(postgres=self.dialect == "postgresql")
        self._pending: list[Item] = []
        # What the idle writer awaits (set by `_wake`): a bare future, where an `asyncio.Event`'s
        # wait, set and clear cost a message 1 µs of Python.
        self._woken: asyncio.Future[None] | None = None
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._sqlite = SqliteWriteConnection(engine.url) if self.dialect == "sqlite" else None
        self._postgres = PostgresWriteConnection(engine) if self.dialect == "postgresql" else None
        # SQLite only: the connection the store's small reads and its channels' creation use too, on
        # the loop's thread (SqlEventStore.read_small, SqlEventStore.create_channel).
        self.sqlite_connection = self._sqlite
        self._sql = statements_for(engine.dialect)
        # How many more batches look their op keys up first (see `_write`).
        self._lookups_left = 0
        # Whose rows of `event_hours` this writer widens (collab/store/hours.py): its own only.
        self.writer_id = secrets.token_hex(8)
        # SQLite: the ids this writer's hours rows cover, as committed (`SqliteHours`); a batch whose ids
        # they cover writes no hours row.
        self._sqlite_hours = SqliteHours()
        # Set (to this process's node id) when other processes listen for commits: each batch then
        # notifies them inside its own transaction (collab.store.notify).
        self.notify_node: str | None = None
        # Figures for the monitor: batches committed and events in them.
        self.batches_committed = 0
        self.events_committed = 0
        self.last_batch_size = 0
        # When SQLite's search index catches up with what this writer committed.
        self.search_catch_up = SearchCatchUp(self._sqlite, self._wake) if self._sqlite is not None else None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-store-writer")
            if self.search_catch_up is not None:
                self.search_catch_up.start()

    def enqueue(self, event: NewEvent) -> asyncio.Future[Appended]:
        if self._closing:
            raise StoreError("the event store is closed")
        if self._task is not None and self._task.done():
            raise StoreError("the event store's writer has stopped")
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._pending.append(Pending(event, future, self._sqlite_rows, self._index))
        self._wake()
        return future

    def enqueue_many(self, new_events: Sequence[NewEvent]) -> list[asyncio.Future[Appended]]:
        """Enqueue all or none: a payload that is not JSON refuses the whole call before any is queued."""
        if self._closing:
            raise StoreError("the event store is closed")
        if self._task is not None and self._task.done():
            raise StoreError("the event store's writer has stopped")
        loop = asyncio.get_running_loop()
        prepared = [Pending(event, loop.create_future(), self._sqlite_rows, self._index) for event in new_events]
        self._pending.extend(prepared)
        self._wake()
        return [pending.future for pending in prepared]

    def enqueue_group(self, new_events: Sequence[NewEvent], expected_head: int) -> asyncio.Future[list[Appended]]:
        """Enqueue a conditional append (`EventStore.append_at_head`); a bad call queues nothing."""
        if self._closing:
            raise StoreError("the event store is closed")
        if self._task is not None and self._task.done():
            raise StoreError("the event store's writer has stopped")
        future: asyncio.Future[list[Appended]] = asyncio.get_running_loop().create_future()
        self._pending.append(PendingGroup(new_events, expected_head, future, self._sqlite_rows, self._index))
        self._wake()
        return future

    async def close(self) -> None:
        """Commit what is pending and answer its callers; later appends get `StoreError`."""
        if self._closing:
            return
        self._closing = True
        self._wake()
        try:
            if self._task is not None:
                await self._task
        finally:
            if self._sqlite is not None:
                await asyncio.get_running_loop().run_in_executor(self._sqlite.executor, self._sqlite.close)
                self._sqlite.executor.shutdown()
            if self._postgres is not None:
                await self._postgres.close()

    def _wake(self) -> None:
        """Wake the writer if it is idle (it looks at its pending events, the search index's catch-up and
        whether it is closing before it sleeps again)."""
        woken = self._woken
        if woken is not None and not woken.done():
            woken.set_result(None)

    async def _run(self) -> None:
        batch: list[Item] = []
        loop = asyncio.get_running_loop()
        try:
            while True:
                catch_up = self.search_catch_up
                if not (self._pending or self._closing or (catch_up is not None and catch_up.due)):
                    self._woken = loop.create_future()
                    try:
                        await self._woken
                    finally:
                        self._woken = None
                while self._pending:
                    batch = self._pending[: self.max_batch]
                    del self._pending[: self.max_batch]
                    await self._commit(batch)
                    batch = []
                    if catch_up is not None and catch_up.due:  # under a steady load too
                        await catch_up.run()
                if catch_up is not None and (catch_up.due or (self._closing and catch_up.behind)):
                    await catch_up.run()
                if self._closing:
                    return
        except BaseException as error:
            # Never leave a caller waiting on a writer that is gone (a bug, or the loop shutting down).
            for pending in [*batch, *self._pending]:
                if not pending.future.done():
                    pending.future.set_exception(StoreError(f"the event store's writer stopped: {error!r}"))
            self._pending.clear()
            raise

    async def _commit(self, batch: list[Item]) -> None:
        try:
            results = await self._write(batch)
        except Exception as error:
            if len(batch) > 1 and not isinstance(error, _WHOLE_BATCH_ERRORS):
                # One bad event must not fail its neighbours: halve the batch until it stands alone.
                # Halves commit in order, so a channel's seqs still follow the order of the calls.
                middle = len(batch) // 2
                await self._commit(batch[:middle])
                await self._commit(batch[middle:])
                return
            log.warning("append of %d events failed: %s", len(batch), error)
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(translate(error))
            return
        self.batches_committed += 1
        self.events_committed += len(batch)
        self.last_batch_size = len(batch)
        for pending, result in zip(batch, results, strict=True):
            if pending.future.done():  # the caller was cancelled
                continue
            if isinstance(result, CollabError):
                pending.future.set_exception(result)
            else:
                pending.future.set_result(result)

    async def _write(self, batch: list[Item]) -> list[Result]:
        # Most batches hold no retry, and the unique index on op_key probes for one anyway: so the
        # insert goes first, skipping conflicts, and only when it comes up short (a retry, or an op
        # stored by another process meanwhile) is the batch rolled back and written again with the
        # lookup. The lookup then stays on for a while, so that a client replaying old op ids costs
        # one lookup per batch, not a wasted transaction per batch.
        look_up = self._lookups_left > 0
        try:
            results = await self._transaction(batch, look_up)
        except _RetryInBatch:
            results = await self._transaction(batch, True)
            look_up = True
            self._lookups_left = 100
        self._sqlite_hours.committed()
        if self.search_catch_up is not None:
            self.search_catch_up.committed(len(batch))
        if look_up and self._lookups_left:
            self._lookups_left -= 1
        if len(batch) == 1:
            self.known_channels.add(batch[0].channel)
        else:
            self.known_channels.update(pending.channel for pending in batch)
        return results

    async def _transaction(self, batch: list[Item], look_up: bool) -> list[Result]:
        if self._sqlite is not None:
            return await self._sqlite.transaction(self._write_sqlite, batch, look_up)
        assert self._postgres is not None
        return await self._postgres.transaction(self._write_postgres, batch, look_up)

    def _new_channels(self, batch: list[Item]) -> tuple[list[str], list[tuple[str, str, Any]]]:
        """The batch's channels in name order, and the rows of those this writer has not seen yet."""
        names = [batch[0].channel] if len(batch) == 1 else sorted({pending.channel for pending in batch})
        unknown = [name for name in names if name not in self.known_channels]
        if not unknown:
            return names, []
        now = utcnow()
        return names, [(name, channel_kind(name), now) for name in unknown]

    def _write_sqlite(self, conn: sa.Connection, batch: list[Item], look_up: bool) -> list[Result]:
        """The batch on SQLite, inside the caller's `BEGIN IMMEDIATE`. Without `look_up`, raise
        `_RetryInBatch` if an op key of the batch was stored already (the caller rolls back)."""
        names, unknown = self._new_channels(batch)
        if unknown:
            records = [{"name": name, "kind": kind, "created_at": at} for name, kind, at in unknown]
            conn.execute(self._sql.create_channels, records)
        # The hot statements run on the driver's connection: through SQLAlchemy's execution, its 7
        # statements cost 100 µs more, which a message alone in its batch pays. A batch of one channel
        # (a lone message's) reads its head by name: the JSON list of names costs 2.5 µs more.
        assert self._sqlite is not None
        driver = self._sqlite.driver
        self._sqlite_hours.begin()
        if len(names) == 1:
            heads = dict(driver.execute(HEAD_SQLITE, names).fetchall())
        else:
            heads = dict(driver.execute(HEADS.sqlite_sql, sqlite_parameters(names)).fetchall())
        found = self._stored_ops(conn, batch) if look_up else {}
        plan = plan_with_lookups(batch, heads, found, look_up, lambda items: self._stored_ops(conn, items))
        rows = plan.rows
        if len(rows) == 1:
            # One row (a lone message) is inserted by `execute`, which says its rowid.
            cursor = driver.execute(self._sql.insert_sql, rows[0])
            self._check_inserted(cursor.rowcount, plan, look_up)
            driver.execute(self._sql.set_head_sql, (rows[0][1], rows[0][0]))
            self._widen_hours_sqlite(driver, cursor.lastrowid, rows)
        elif rows:
            self._check_inserted(driver.executemany(self._sql.insert_sql, rows).rowcount, plan, look_up)
            touched = {row[0] for row in rows}
            driver.executemany(self._sql.set_head_sql, [(plan.heads[name], name) for name in touched])
            last = driver.execute("SELECT last_insert_rowid()").fetchone()[0]
            self._widen_hours_sqlite(driver, last, rows)
        return plan.results

    async def _write_postgres(self, driver: asyncpg.Connection, batch: list[Item], look_up: bool) -> list[Result]:
        """The batch on PostgreSQL, inside the caller's transaction: `_write_sqlite`'s steps, its rows
        written by one statement (`Statements.write_sql`)."""
        assert self._postgres is not None
        statements = self._postgres.statements
        names, unknown = self._new_channels(batch)
        if unknown:
            await driver.executemany(statements.create_channels, unknown)
        # The row locks that order this batch after every other writer of these channels.
        heads = dict(await driver.fetch(statements.lock_heads, names))
        found = await self._stored_ops_postgres(driver, batch) if look_up else {}
        looked_up: set[int] | None = None if look_up else set()
        while True:
            try:
                plan = plan_batch(batch, heads, found, looked_up)
                break
            except GroupLookup as need:
                found = {**found, **await self._stored_ops_postgres(driver, need.group.members)}
                assert looked_up is not None
                looked_up.add(id(need.group))
        rows = plan.rows
        if rows:
            touched = {row[0] for row in rows}
            columns = tuple(map(list, zip(*rows, strict=True)))
            moved = ([*touched], [plan.heads[name] for name in touched])
            node = self.notify_node
            payloads = notify.commit_payloads(node, _new_events(plan.results)) if node is not None else []
            indexed = [(row, s) for row, s in zip(rows, plan.sources, strict=True) if s.terms is not None]
            search = ([row[0] for row, _ in indexed], [row[1] for row, _ in indexed], [s.terms for _, s in indexed])
            inserted, _ = await driver.fetchrow(
                self._sql.write_sql, *columns, *moved, payloads, *search, self.writer_id
            )
            self._check_inserted(inserted, plan, look_up)
        return plan.results

    @staticmethod
    def _check_inserted(inserted: int, plan: Plan, look_up: bool) -> None:
        if inserted != len(plan.rows):
            # Only an op-key conflict skips a row; with the lookup done, one is a broken invariant.
            if look_up:
                raise StoreError(f"{len(plan.rows) - inserted} events conflicted although their op ids were looked up")
            raise _RetryInBatch

    def _widen_hours_sqlite(self, driver: sqlite3.Connection, last: int, rows: list[tuple[Any, ...]]) -> None:
        """Widen the hours of the rows just inserted (PostgreSQL's statement does it itself). Their ids
        are the rowids SQLite gave them, the last of them `last`: each row's is one above the largest
        before it (an INTEGER PRIMARY KEY without AUTOINCREMENT), and this transaction holds the only
        write lock, so they are consecutive."""
        first = last - len(rows) + 1
        widen = self._sqlite_hours.widen(sqlite_spans(first, [row[-1] for row in rows]))
        if widen:
            writer = self.writer_id
            driver.executemany(SQLITE_WIDEN, [(hour, writer, low, high) for hour, (low, high) in widen.items()])

    def _stored_ops(self, conn: sa.Connection, batch: Sequence[Item]) -> dict[int, StoredEvent]:
        """SQLite: the stored events that carry one of the batch's op keys (one probe of the unique index
        each)."""
        keys = op_keys(batch)
        if not keys:
            return {}
        rows = conn.execute(self._sql.find_ops, {"keys": orjson.dumps(keys).decode()})
        return {row[9]: stored_event(row) for row in rows}

    async def _stored_ops_postgres(self, driver: asyncpg.Connection, batch: Sequence[Item]) -> dict[int, StoredEvent]:
        """`_stored_ops` on PostgreSQL."""
        keys = op_keys(batch)
        if not keys:
            return {}
        assert self._postgres is not None
        rows = await driver.fetch(self._postgres.statements.find_ops, keys)
        return {row[9]: stored_event(row) for row in rows}


def _new_events(results: list[Result]) -> list[StoredEvent]:
    """The events a batch stored, in commit order (its notification's content)."""
    stored: list[StoredEvent] = []
    for result in results:
        if isinstance(result, Appended):
            if result.new:
                stored.append(result.event)
        elif isinstance(result, list):
            stored.extend(appended.event for appended in result if appended.new)
    return stored


# Errors of the database or the connection, not of an event: halving the batch would only repeat
# them (a lock wait that timed out, ten seconds each time), so the whole batch fails at once.
_WHOLE_BATCH_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, OSError)


class _RetryInBatch(Exception):
    """The insert skipped an op key that was stored already: write the batch again with the lookup."""
