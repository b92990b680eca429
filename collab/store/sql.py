"""The event store on SQL (SQLite and PostgreSQL), written once with SQLAlchemy Core.

Appends go through the group-commit writer in `collab.store.writer` (its docstring explains the
batching and why seqs are gapless across processes); everything else is a plain query here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from collab.events import Appended, ChannelInfo, NewEvent, Snapshot, StoredEvent, utcnow
from collab.naming import channel_kind
from collab.store.batching import TurnBatch
from collab.store.engine import make_engine
from collab.store.errors import translate, translated
from collab.store.keyed import KEYS, KeyedRead, keyed_read
from collab.store.rows import EVENT_COLUMNS, aware, stored_event
from collab.store.schema import channel_members, channels, events, snapshots
from collab.store.statements import HEADS
from collab.store.writer import BatchWriter

# The reads a join makes, built once: a statement built per call costs SQLAlchemy a cache-key walk each
# time (about a tenth of a join's CPU in a profile of 5,000 sockets connecting).
# A channel's record, by position: (name, kind, head, private, created_at, created_by).
_RECORD = (
    channels.c.name,
    channels.c.kind,
    channels.c.head_seq,
    channels.c.private,
    channels.c.created_at,
    channels.c.created_by,
)
_ALL = sa.select(*_RECORD).order_by(channels.c.name)
_NAMED = keyed_read(_RECORD, channels.c.name, channels.c.name)
_MEMBERS_OF = keyed_read((channel_members.c.channel, channel_members.c.user_id), channel_members.c.channel)


class SqlEventStore:
    """`EventStore` on SQLAlchemy Core. Use `await SqlEventStore.open(url)` and `await store.close()`."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 2000) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.writer = BatchWriter(engine, max_batch=max_batch)
        # A burst of joins asks for many channels' records at once: one query per turn answers them.
        self._channel_batch: TurnBatch[str, ChannelInfo] = TurnBatch(self._channels_named)
        self._head_batch: TurnBatch[str, int] = TurnBatch(self.heads)

    @classmethod
    async def open(cls, url: str, **engine_options: Any) -> SqlEventStore:
        store = cls(make_engine(url, **engine_options))
        store.start()
        return store

    def start(self) -> None:
        self.writer.start()

    def _dialect_insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # Figures for the monitor.
    @property
    def batches_committed(self) -> int:
        return self.writer.batches_committed

    @property
    def events_committed(self) -> int:
        return self.writer.events_committed

    @property
    def last_batch_size(self) -> int:
        return self.writer.last_batch_size

    # -- appending ------------------------------------------------------------------------------

    async def append(self, event: NewEvent) -> Appended:
        return await self.writer.enqueue(event)

    async def append_many(self, new_events: Sequence[NewEvent]) -> list[Appended]:
        # Awaited in order, not gathered: the caller resumes right where its first event's answer is
        # set, as `append`'s does, so the callers of one batch resume (and publish: one process's broker
        # has no sequencer) in seq order. `gather` woke it a loop step later, behind callers of later
        # seqs, and a socket drops a seq below one it was sent. By then its other events are answered.
        futures = self.writer.enqueue_many(new_events)
        results: list[Appended] = []
        failed: Exception | None = None
        try:
            for future in futures:
                try:
                    results.append(await future)
                except Exception as error:
                    # The others were committed; every outcome is collected, the first failure raised.
                    failed = failed or error
        except asyncio.CancelledError:
            for future in futures:
                future.cancel()
            raise
        if failed is not None:
            raise failed
        return results

    async def append_at_head(self, new_events: Sequence[NewEvent], expected_head: int) -> list[Appended]:
        return await self.writer.enqueue_group(new_events, expected_head)

    # -- reading --------------------------------------------------------------------------------

    async def _fetch(self, statement: Any, parameters: dict[str, Any] | None = None) -> list[Any]:
        with translated():
            async with self.engine.connect() as conn:
                return list(await conn.execute(statement, parameters))

    async def read_small(self, read: KeyedRead, keys: Sequence[str]) -> Sequence[Sequence[Any]]:
        """A read of a few rows by key, as a burst of joins makes (records, heads, read positions): on
        SQLite on the loop's thread (`SqliteWriteConnection.read_now`), else through the pool."""
        reader = self.writer.sqlite_connection
        if reader is not None:
            try:  # `translated()` by hand: a context manager per read was 3 % of a connect's CPU
                rows = reader.read_now(read, keys)
            except sa_exc.SQLAlchemyError as error:
                raise translate(error) from error
            if rows is not None:
                return rows
        return await self._fetch(read.portable, {KEYS: keys})

    async def read(
        self, channel: str, after: int = 0, before: int | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        query = (
            sa.select(*EVENT_COLUMNS).where(events.c.channel == channel, events.c.seq > after).order_by(events.c.seq)
        )
        if before is not None:
            query = query.where(events.c.seq < before)
        if limit is not None:
            query = query.limit(limit)
        return [stored_event(row) for row in await self._fetch(query)]

    async def head(self, channel: str) -> int:
        """Read with the other heads asked for in the same turn (a burst of joins of new rooms)."""
        return await self._head_batch.get(channel) or 0

    async def heads(self, names: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(names))
        rows = await self.read_small(HEADS, wanted)
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

        def insert(conn: sa.Connection, _: object = None) -> None:
            conn.execute(
                channels.insert().values(
                    name=name, kind=channel_kind(name), private=private, created_at=now, created_by=created_by
                )
            )
            if member_set:
                conn.execute(
                    channel_members.insert(),
                    [{"channel": name, "user_id": m, "added_at": now} for m in sorted(member_set)],
                )

        with translated(conflict=f"channel {name!r} exists already"):
            sqlite = self.writer.sqlite_connection
            if sqlite is not None:
                # On the writer's connection, on the loop's thread: no pool checkout and no hops to a
                # thread, which in a storm of joins making rooms took the GIL from the loop.
                await sqlite.transaction(insert, [])
            else:
                async with self.engine.begin() as conn:
                    await conn.run_sync(insert)
        self.writer.known_channels.add(name)
        return ChannelInfo(name, channel_kind(name), 0, private, now, created_by, member_set)

    async def get_channel(self, name: str) -> ChannelInfo | None:
        return await self._channel_batch.get(name)

    async def _channels_named(self, names: list[str]) -> dict[str, ChannelInfo]:
        found: dict[str, ChannelInfo] = {}
        for start in range(0, len(names), 500):  # under every database's limit of bound parameters
            for info in await self._channel_infos(await self.read_small(_NAMED, names[start : start + 500])):
                found[info.name] = info
        return found

    async def list_channels(self) -> list[ChannelInfo]:
        return await self._channel_infos(await self._fetch(_ALL))

    async def _channel_infos(self, rows: Sequence[Sequence[Any]]) -> list[ChannelInfo]:
        """The records of `rows` (`_RECORD`'s columns), with the members of the private ones."""
        private_names = [row[0] for row in rows if row[3]]
        members: dict[str, set[str]] = {name: set() for name in private_names}
        for start in range(0, len(private_names), 500):
            for channel, user_id in await self.read_small(_MEMBERS_OF, private_names[start : start + 500]):
                members[channel].add(user_id)
        return [
            ChannelInfo(
                name=name,
                kind=kind,
                head=head,
                private=private,
                created_at=aware(created_at),
                created_by=created_by,
                members=frozenset(members.get(name, ())),
            )
            for name, kind, head, private, created_at, created_by in rows
        ]

    async def add_member(self, channel: str, user_id: str) -> None:
        with translated():
            async with self.engine.begin() as conn:
                await conn.execute(
                    self._dialect_insert(channel_members)
                    .values(channel=channel, user_id=user_id, added_at=utcnow())
                    .on_conflict_do_nothing()
                )

    async def remove_member(self, channel: str, user_id: str) -> None:
        with translated():
            async with self.engine.begin() as conn:
                await conn.execute(
                    channel_members.delete().where(
                        channel_members.c.channel == channel, channel_members.c.user_id == user_id
                    )
                )

    # -- snapshots ------------------------------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        values = {
            "channel": snapshot.channel,
            "seq": snapshot.seq,
            "data": snapshot.data,
            "blob": snapshot.blob,
            "created_at": snapshot.created_at,
        }
        statement = self._dialect_insert(snapshots).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[snapshots.c.channel, snapshots.c.seq],
            set_={
                "data": statement.excluded.data,
                "blob": statement.excluded.blob,
                "created_at": statement.excluded.created_at,
            },
        )
        with translated():
            async with self.engine.begin() as conn:
                await conn.execute(statement)

    async def latest_snapshot(self, channel: str, max_seq: int | None = None) -> Snapshot | None:
        query = sa.select(snapshots).where(snapshots.c.channel == channel)
        if max_seq is not None:
            query = query.where(snapshots.c.seq <= max_seq)
        rows = await self._fetch(query.order_by(snapshots.c.seq.desc()).limit(1))
        if not rows:
            return None
        row = rows[0]
        return Snapshot(row.channel, row.seq, row.data, row.blob, aware(row.created_at))

    # -- lifecycle ------------------------------------------------------------------------------

    async def close(self) -> None:
        """Flush pending appends (their callers get answers), then dispose of the engine."""
        try:
            await self.writer.close()
        finally:
            await self.engine.dispose()
