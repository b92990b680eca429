"""Searching the index: one page of matching events in id order, on either database, the same events.

The full-text index drives every search, in id order, newest first across channels (a channel's ids
grow with its seqs: the writer allocates both under the channel's lock, so within a channel id order is
seq order, and a channel's seq bounds are id bounds):

- the compiled query (collab.store.search.query) holds the words and the *facets* — the channels,
  users and types asked for, and direct messages left out for operators — so the index alone narrows
  the search before an event row is read;
- a time window becomes a range of ids through `event_hours` (collab.store.hours), then each event's
  `created_at` is compared exactly;
- each candidate's event row (one primary-key lookup) is compared exactly: channel, user, type, time,
  seqs. A facet's hash collision or an hour's wide range costs time, never a wrong answer.

SQLite: `event_search CROSS JOIN events`, so the FTS5 table is the outer loop (it yields rowids in
order and stops at the limit) and SQLite never chooses to walk a channel's events and probe FTS5 for each.
PostgreSQL: the planner picks the GIN index (few matches) or the primary key in order with the tsquery
checked on each row (many); the id range keeps the second short for a window of time. It can only pick
when it sees the query: with a prepared statement's generic plan (asyncpg prepares, and PostgreSQL goes
generic after five runs of one statement) the tsquery is a parameter, estimated at a guess, and a word in
ten events was looked for by walking the whole index (300 ms on a million events). So each search plans
for its own values (`plan_cache_mode = force_custom_plan`, for its transaction only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from collab.events import StoredEvent
from collab.store.errors import translated
from collab.store.hours import id_range
from collab.store.rows import EVENT_COLUMNS, stored_event
from collab.store.schema import events
from collab.store.search.query import TextQuery, fts5_match, tsquery_text
from collab.store.search.rows import facet
from collab.store.search.writes import catch_up, is_behind

_SELECTED = ", ".join(f"events.{column.name}" for column in EVENT_COLUMNS) + ", events.id"
_COLUMNS = (*EVENT_COLUMNS, events.c.id)


@dataclass(frozen=True)
class SearchFilter:
    """Which indexed events: matching `text` (None: any text), in one of `channels`, by one of `users`,
    of one of `types` (each empty: any), stored at or after `since` and before `until`, seqs between
    `after` and `before` (only with exactly one channel), and not in a direct message if `exclude_dms`."""

    text: TextQuery | None = None
    channels: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    after: int = 0
    before: int | None = None
    exclude_dms: bool = False

    def facet_groups(self) -> list[list[str]]:
        named = (("c", self.channels), ("u", self.users), ("t", self.types))
        return [[facet(kind, name) for name in names] for kind, names in named if names]


@dataclass(frozen=True, slots=True)
class Hit:
    """A matching event and its global id (the order and the cursor of a search across channels)."""

    id: int
    event: StoredEvent


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class SearchQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    async def page(
        self,
        where: SearchFilter,
        *,
        above: int | None = None,
        below: int | None = None,
        limit: int = 100,
        newest_first: bool = True,
    ) -> list[Hit]:
        """At most `limit` matching events with `above < id < below`, newest (highest id) first or oldest
        first."""
        with translated():
            async with self.engine.connect() as conn:
                if not self.postgres and await conn.run_sync(is_behind):
                    # SQLite's index follows the log: it catches up first, so this search sees every
                    # event committed before it began (collab.store.search.writes).
                    await conn.run_sync(catch_up)
                    await conn.commit()
                low, high = await self._bounds(conn, where)
                if low is None:
                    return []
                if above is not None:
                    low = max(low, above + 1)
                if below is not None:
                    high = below - 1 if high is None else min(high, below - 1)
                if high is not None and high < low:
                    return []
                statement, params = self._statement(where, low, high, limit, newest_first)
                if self.postgres:
                    await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
                rows = await conn.execute(statement, params)
                return [Hit(row[9], stored_event(row)) for row in rows]

    async def _bounds(self, conn: Any, where: SearchFilter) -> tuple[int | None, int | None]:
        """The id range to search, `(low, high)` (high None: no upper bound); `(None, None)` when nothing
        can match. From the time window's hours and, for one channel, its seq bounds."""
        window = await id_range(conn, where.since, where.until)
        if window is None:
            return None, None
        low, high = window
        if len(where.channels) == 1 and (where.after or where.before is not None):
            channel = where.channels[0]
            first_id = (
                sa.select(events.c.id)
                .where(events.c.channel == channel, events.c.seq > where.after)
                .order_by(events.c.seq)
                .limit(1)
            )
            found = (await conn.execute(first_id)).scalar()
            if found is None:
                return None, None
            low = max(low, found)
            if where.before is not None:
                last_id = (
                    sa.select(events.c.id)
                    .where(events.c.channel == channel, events.c.seq < where.before)
                    .order_by(events.c.seq.desc())
                    .limit(1)
                )
                found = (await conn.execute(last_id)).scalar()
                if found is None:
                    return None, None
                high = found if high is None else min(high, found)
        return low, high

    def _statement(
        self, where: SearchFilter, low: int, high: int | None, limit: int, newest_first: bool
    ) -> tuple[Any, dict[str, Any]]:
        key = "event_search.id" if self.postgres else "event_search.rowid"
        params: dict[str, Any] = {"low": low, "limit": limit}
        binds = [sa.bindparam("low", type_=sa.BigInteger), sa.bindparam("limit", type_=sa.Integer)]
        conditions = [f"{key} >= :low"]
        if high is not None:
            conditions.append(f"{key} <= :high")
            params["high"] = high
            binds.append(sa.bindparam("high", type_=sa.BigInteger))
        compile_query = tsquery_text if self.postgres else fts5_match
        match = compile_query(where.text, where.facet_groups(), exclude_dms=where.exclude_dms)
        if match is not None:
            conditions.append(
                "event_search.terms @@ CAST(:match AS tsquery)" if self.postgres else "event_search MATCH :match"
            )
            params["match"] = match
            binds.append(sa.bindparam("match", type_=sa.Text))
        for name, column, values in (
            ("channels", "channel", where.channels),
            ("users", "user_id", where.users),
            ("types", "type", where.types),
        ):
            if values:
                conditions.append(f"events.{column} IN :{name}")
                params[name] = list(values)
                binds.append(sa.bindparam(name, expanding=True, type_=sa.String))
        for name, operator, moment in (("since", ">=", where.since), ("until", "<", where.until)):
            if moment is not None:
                conditions.append(f"events.created_at {operator} :{name}")
                params[name] = _utc(moment)
                binds.append(sa.bindparam(name, type_=events.c.created_at.type))
        if where.after:
            conditions.append("events.seq > :after")
            params["after"] = where.after
            binds.append(sa.bindparam("after", type_=sa.BigInteger))
        if where.before is not None:
            conditions.append("events.seq < :before")
            params["before"] = where.before
            binds.append(sa.bindparam("before", type_=sa.BigInteger))
        if where.exclude_dms:
            conditions.append("substr(events.channel, 1, 3) <> 'dm:'")
        join = "JOIN" if self.postgres else "CROSS JOIN"
        sql = (
            f"SELECT {_SELECTED} FROM event_search {join} events ON events.id = {key}"
            f" WHERE {' AND '.join(conditions)} ORDER BY {key} {'DESC' if newest_first else 'ASC'} LIMIT :limit"
        )
        return sa.text(sql).bindparams(*binds).columns(*_COLUMNS), params
