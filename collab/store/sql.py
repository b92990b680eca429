"""The event store on SQL (SQLite and PostgreSQL), written once with SQLAlchemy Core.

Group commit: `append` puts the event on a pending list and waits. One writer task takes everything
pending, commits it in one transaction, then answers every caller of that batch. While a batch commits,
the next one gathers, so the number of transactions falls as load rises.

Ordering: the writer locks the rows of the batch's channels (`SELECT … FOR UPDATE` on PostgreSQL,
`BEGIN IMMEDIATE` — the database-wide write lock — on SQLite) before it reads their heads. So two
processes appending to one channel allocate seqs one transaction after the other, and a channel's seqs
commit in seq order: whoever sees seq N can read every seq below it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from collab.errors import Conflict, StoreError
from collab.events import Appended, ChannelInfo, NewEvent, Snapshot, StoredEvent, utcnow
from collab.naming import channel_kind
from collab.store.engine import make_engine, make_sync_engine
from collab.store.schema import channel_members, channels, events, snapshots

log = logging.getLogger(__name__)

_EVENT_COLUMNS = (
    events.c.channel,
    events.c.seq,
    events.c.type,
    events.c.data,
    events.c.blob,
    events.c.user_id,
    events.c.nickname,
    events.c.op_id,
    events.c.created_at,
)
_INSERT_EVENT = events.insert()
_SET_HEAD = channels.update().where(channels.c.name == sa.bindparam("n")).values(head_seq=sa.bindparam("h"))


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; everything we store is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        channel=row[0],
        seq=row[1],
        type=row[2],
        data=row[3],
        blob=row[4],
        user_id=row[5],
        nickname=row[6],
        op_id=row[7],
        created_at=_aware(row[8]),
    )


def _translate(error: BaseException) -> Exception:
    if isinstance(error, sa_exc.IntegrityError):
        return Conflict(f"the database refused a duplicate: {error.orig}")
    if isinstance(error, sa_exc.SQLAlchemyError):
        return StoreError(f"database error: {error}")
    return error if isinstance(error, Exception) else StoreError(str(error))


class SqlEventStore:
    """`EventStore` on SQLAlchemy Core. Use `await SqlEventStore.open(url)` and `await store.close()`."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 2000) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.max_batch = max_batch
        self._pending: list[tuple[NewEvent, asyncio.Future[Appended]]] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._known_channels: set[str] = set()
        self._writer: asyncio.Task[None] | None = None
        self._sqlite_writer = SqliteWriter(engine.url) if self.dialect == "sqlite" else None
        # Figures for the monitor: batches committed and events in them.
        self.batches_committed = 0
        self.events_committed = 0
        self.last_batch_size = 0

    @classmethod
    async def open(cls, url: str, **engine_options: Any) -> SqlEventStore:
        store = cls(make_engine(url, **engine_options))
        store.start()
        return store

    def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="event-store-writer")

    # -- appending ------------------------------------------------------------------------------

    async def append(self, event: NewEvent) -> Appended:
        return await self._enqueue(event)

    async def append_many(self, new_events: Sequence[NewEvent]) -> list[Appended]:
        futures = [self._enqueue(e) for e in new_events]
        return list(await asyncio.gather(*futures))

    def _enqueue(self, event: NewEvent) -> asyncio.Future[Appended]:
        if self._closing:
            raise StoreError("the event store is closed")
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._pending.append((event, future))
        self._wakeup.set()
        return future

    async def _write_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                await self._commit_batch(batch)
            if self._closing:
                return

    async def _commit_batch(self, batch: list[tuple[NewEvent, asyncio.Future[Appended]]]) -> None:
        try:
            results = await self._write([event for event, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                event, future = batch[0]
                log.warning("append to %s failed: %s", event.channel, error)
                if not future.done():
                    future.set_exception(_translate(error))
                return
            # One bad event must not fail its neighbours: commit them one by one to find it.
            for item in batch:
                await self._commit_batch([item])
            return
        self.batches_committed += 1
        self.events_committed += len(batch)
        self.last_batch_size = len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _write(self, batch: list[NewEvent]) -> list[Appended]:
        if self._sqlite_writer is not None:
            results = await asyncio.get_running_loop().run_in_executor(
                self._sqlite_writer.executor, self._sqlite_writer.write, self._write_batch, batch
            )
        else:
            async with self.engine.begin() as conn:
                results = await conn.run_sync(self._write_batch, batch)
        self._known_channels.update(event.channel for event in batch)
        return results

    def _insert_ignore(self, table: sa.Table) -> Any:
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table).on_conflict_do_nothing()

    def _find_op_ids(self, conn: sa.Connection, batch: list[NewEvent]) -> list[StoredEvent]:
        """Stored events that carry one of the batch's op ids, in the same channel. One index probe per
        op id: per channel `channel = ? AND op_id IN (…)` (a flat `channel IN … AND op_id IN …` would
        probe every pair)."""
        by_channel: dict[str, set[str]] = {}
        for event in batch:
            if event.op_id is not None:
                by_channel.setdefault(event.channel, set()).add(event.op_id)
        if not by_channel:
            return []
        condition = sa.or_(
            *(
                sa.and_(events.c.channel == channel, events.c.op_id.in_(op_ids))
                for channel, op_ids in by_channel.items()
            )
        )
        return [_stored(row) for row in conn.execute(sa.select(*_EVENT_COLUMNS).where(condition))]

    def _write_batch(self, conn: sa.Connection, batch: list[NewEvent]) -> list[Appended]:
        """Allocate seqs and insert one batch, inside the caller's transaction. Plain (sync) Core, so
        that PostgreSQL runs it through `run_sync` and SQLite in its writer thread: one code path."""
        names = sorted({event.channel for event in batch})
        unknown = [name for name in names if name not in self._known_channels]
        if unknown:
            now = utcnow()
            conn.execute(
                self._insert_ignore(channels),
                [{"name": n, "kind": channel_kind(n), "created_at": now} for n in unknown],
            )
        # The row locks that order this batch after every other writer of these channels.
        locked = conn.execute(
            sa.select(channels.c.name, channels.c.head_seq)
            .where(channels.c.name.in_(names))
            .order_by(channels.c.name)
            .with_for_update()
        )
        heads: dict[str, int] = {name: head for name, head in locked}
        retried = self._find_op_ids(conn, batch)
        known = {(e.channel, e.user_id, e.op_id): e for e in retried}
        results: list[Appended] = []
        rows: list[dict[str, Any]] = []
        for event in batch:
            key = (event.channel, event.user_id, event.op_id)
            if event.op_id is not None:
                previous = known.get(key)
                if previous is not None:
                    results.append(Appended(previous, False))
                    continue
            seq = heads[event.channel] = heads[event.channel] + 1
            stored = StoredEvent(
                event.channel,
                seq,
                event.type,
                event.data,
                event.blob,
                event.user_id,
                event.nickname,
                event.op_id,
                event.created_at,
            )
            if event.op_id is not None:
                known[key] = stored
            results.append(Appended(stored, True))
            rows.append(
                {
                    "channel": event.channel,
                    "seq": seq,
                    "type": event.type,
                    "data": event.data,
                    "blob": event.blob,
                    "user_id": event.user_id,
                    "nickname": event.nickname,
                    "op_id": event.op_id,
                    "created_at": event.created_at,
                }
            )
        if rows:
            conn.execute(_INSERT_EVENT, rows)
            touched = {row["channel"] for row in rows}
            conn.execute(_SET_HEAD, [{"n": n, "h": heads[n]} for n in touched])
        return results

    # -- reading --------------------------------------------------------------------------------

    async def _fetch(self, statement: Any) -> list[Any]:
        try:
            async with self.engine.connect() as conn:
                return list(await conn.execute(statement))
        except sa_exc.SQLAlchemyError as error:
            raise _translate(error) from error

    async def read(
        self, channel: str, after: int = 0, before: int | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        query = (
            sa.select(*_EVENT_COLUMNS).where(events.c.channel == channel, events.c.seq > after).order_by(events.c.seq)
        )
        if before is not None:
            query = query.where(events.c.seq < before)
        if limit is not None:
            query = query.limit(limit)
        return [_stored(row) for row in await self._fetch(query)]

    async def head(self, channel: str) -> int:
        return (await self.heads([channel]))[channel]

    async def heads(self, names: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(names))
        rows = await self._fetch(sa.select(channels.c.name, channels.c.head_seq).where(channels.c.name.in_(wanted)))
        found = dict(rows)
        return {name: found.get(name, 0) for name in wanted}

    async def first_seq(self, channel: str) -> int:
        rows = await self._fetch(sa.select(sa.func.min(events.c.seq)).where(events.c.channel == channel))
        first = rows[0][0]
        return first if first is not None else await self.head(channel) + 1

    # -- channels -------------------------------------------------------------------------------

    async def create_channel(
        self, name: str, *, created_by: str | None = None, private: bool = False, members: Iterable[str] = ()
    ) -> ChannelInfo:
        now = utcnow()
        member_set = frozenset(members)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    channels.insert().values(
                        name=name,
                        kind=channel_kind(name),
                        private=private,
                        created_at=now,
                        created_by=created_by,
                    )
                )
                if member_set:
                    await conn.execute(
                        channel_members.insert(),
                        [{"channel": name, "user_id": m, "added_at": now} for m in sorted(member_set)],
                    )
        except sa_exc.IntegrityError as error:
            raise Conflict(f"channel {name!r} exists already") from error
        except sa_exc.SQLAlchemyError as error:
            raise _translate(error) from error
        self._known_channels.add(name)
        return ChannelInfo(name, channel_kind(name), 0, private, now, created_by, member_set)

    async def get_channel(self, name: str) -> ChannelInfo | None:
        found = await self._channel_infos(channels.c.name == name)
        return found[0] if found else None

    async def list_channels(self) -> list[ChannelInfo]:
        return await self._channel_infos(sa.true())

    async def _channel_infos(self, condition: Any) -> list[ChannelInfo]:
        rows = await self._fetch(sa.select(channels).where(condition).order_by(channels.c.name))
        private_names = [row.name for row in rows if row.private]
        members: dict[str, set[str]] = {name: set() for name in private_names}
        if private_names:
            for channel, user_id in await self._fetch(
                sa.select(channel_members.c.channel, channel_members.c.user_id).where(
                    channel_members.c.channel.in_(private_names)
                )
            ):
                members[channel].add(user_id)
        return [
            ChannelInfo(
                name=row.name,
                kind=row.kind,
                head=row.head_seq,
                private=row.private,
                created_at=_aware(row.created_at),
                created_by=row.created_by,
                members=frozenset(members.get(row.name, ())),
            )
            for row in rows
        ]

    async def add_member(self, channel: str, user_id: str) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    self._insert_ignore(channel_members).values(channel=channel, user_id=user_id, added_at=utcnow())
                )
        except sa_exc.SQLAlchemyError as error:
            raise _translate(error) from error

    async def remove_member(self, channel: str, user_id: str) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    channel_members.delete().where(
                        channel_members.c.channel == channel, channel_members.c.user_id == user_id
                    )
                )
        except sa_exc.SQLAlchemyError as error:
            raise _translate(error) from error

    # -- snapshots ------------------------------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        values = {
            "channel": snapshot.channel,
            "seq": snapshot.seq,
            "data": snapshot.data,
            "blob": snapshot.blob,
            "created_at": snapshot.created_at,
        }
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = dialect_insert(snapshots).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[snapshots.c.channel, snapshots.c.seq],
            set_={
                "data": statement.excluded.data,
                "blob": statement.excluded.blob,
                "created_at": statement.excluded.created_at,
            },
        )
        try:
            async with self.engine.begin() as conn:
                await conn.execute(statement)
        except sa_exc.SQLAlchemyError as error:
            raise _translate(error) from error

    async def latest_snapshot(self, channel: str, max_seq: int | None = None) -> Snapshot | None:
        query = sa.select(snapshots).where(snapshots.c.channel == channel)
        if max_seq is not None:
            query = query.where(snapshots.c.seq <= max_seq)
        rows = await self._fetch(query.order_by(snapshots.c.seq.desc()).limit(1))
        if not rows:
            return None
        row = rows[0]
        return Snapshot(row.channel, row.seq, row.data, row.blob, _aware(row.created_at))

    # -- lifecycle ------------------------------------------------------------------------------

    async def close(self) -> None:
        """Flush pending appends (their callers get answers), then dispose of the engine."""
        if not self._closing:
            self._closing = True
            self._wakeup.set()
            if self._writer is not None:
                await self._writer
            await self.engine.dispose()
            if self._sqlite_writer is not None:
                self._sqlite_writer.close()


class SqliteWriter:
    """SQLite's one writer: a thread of its own with one plain pysqlite connection.

    Why not aiosqlite here: it hops to its thread once per statement and SQLAlchemy's greenlet bridge
    adds its own cost, so a batch spent most of its time in hand-offs (~14k events/s measured). In one
    thread the whole batch is one hop, SQLAlchemy's per-row work overlaps with the event loop, and
    SQLite releases the GIL while it writes. Reads still go through the async engine (aiosqlite);
    WAL mode lets them run beside this writer.
    """

    def __init__(self, async_url: sa.URL) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        sync_url = async_url.set(drivername="sqlite+pysqlite")
        self.engine = make_sync_engine(sync_url)
        self._conn: sa.Connection | None = None

    def write(self, write_batch: Any, batch: list[NewEvent]) -> list[Appended]:
        """Run `write_batch(conn, batch)` in one `BEGIN IMMEDIATE` transaction (the write lock is taken
        before the heads are read). Runs in the writer thread."""
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        conn = self._conn
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            results = write_batch(conn, batch)
            conn.exec_driver_sql("COMMIT")
        except BaseException:
            try:
                conn.exec_driver_sql("ROLLBACK")
            except sa_exc.SQLAlchemyError:
                conn.close()
                self._conn = None
            raise
        return results

    def close(self) -> None:
        def _close() -> None:
            if self._conn is not None:
                self._conn.close()
            self.engine.dispose()

        self.executor.submit(_close).result()
        self.executor.shutdown()
