"""Time windows as ranges of ids: `event_hours` keeps, per hour (UTC, of `created_at`) and per writer, the
first and last id of the events that writer stored in that hour. A window's ids are then within the union of
its hours' ranges, so a search (collab/store/search/) or a channel's history (collab/store/history.py)
reads the window's events only, then compares each event's `created_at` exactly.

- Each writer (a process's BatchWriter, or the migration that built the table) widens its own rows only,
  in the transaction of its batch: never a row lock another process's appends wait for.
- A range only widens: an event stored late, or with a `created_at` of long ago, widens its hour's range
  (the window then reads more, never misses one). Ranges outlive pruned events; `forget` drops those
  that end below every kept event.
- SQLite's writer reserves ids ahead in its rows, so most batches write none (`SqliteHours`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from collab.store.schema import event_hours

SQLITE_WIDEN = (
    "INSERT INTO event_hours (hour, writer, first_id, last_id) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (hour, writer) DO UPDATE SET first_id = min(first_id, excluded.first_id),"
    " last_id = max(last_id, excluded.last_id)"
)
_POSTGRES_CONFLICT = (
    " ON CONFLICT (hour, writer) DO UPDATE SET first_id = least(event_hours.first_id, excluded.first_id),"
    " last_id = greatest(event_hours.last_id, excluded.last_id)"
)
POSTGRES_WIDEN = (
    "INSERT INTO event_hours (hour, writer, first_id, last_id)"
    " SELECT u.h, $4, u.f, u.l FROM unnest($1::varchar[], $2::bigint[], $3::bigint[]) AS u(h, f, l)"
    + _POSTGRES_CONFLICT
)
# `hour_of` in SQL: the same text (`YYYY-MM-DDTHH`) from an hour (a timestamp cut to it, in UTC).
_POSTGRES_HOUR = """to_char(h, 'YYYY-MM-DD"T"HH24')"""


def hour_of(created_at: datetime) -> str:
    """The UTC hour of a moment, `YYYY-MM-DDTHH` (`created_at` in UTC already)."""
    return created_at.isoformat()[:13]


def sqlite_spans(first: int, stamps: list[str]) -> dict[str, tuple[int, int]]:
    """`spans` of consecutive ids from `first`, given their timestamps as SQLite keeps them
    (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC). A batch is mostly of one hour: that case is one set."""
    cut = [stamp[:13] for stamp in stamps]
    hours = set(cut)
    if len(hours) == 1:
        return {cut[0].replace(" ", "T"): (first, first + len(cut) - 1)}
    return spans((first + i, hour.replace(" ", "T")) for i, hour in enumerate(cut))


class SqliteHours:
    """What SQLite's writer has committed of its own hours rows, so that a batch whose ids they cover
    writes none: a lone message's commit then writes one page less (its WAL frame is two system calls
    and a checksum of a page), and runs one statement less.

    A row it writes reaches `RESERVE` ids past the batch's last: a range may be wider than what was
    stored, as the module says (a window reads more, never misses one). The ids a row reserves are
    not taken from anyone: another writer's events among them are also in its own rows. The rows are
    committed with the batch, so a crash leaves them covering every id committed; what a batch meant to
    write counts only once it has committed (`committed`). A row `forget` drops ends below every kept
    event, and every later id is above it: the next batch writes it again."""

    RESERVE = 1000
    KEEP = 48  # hours remembered (a batch is mostly of the current one)

    def __init__(self) -> None:
        self._covered: dict[str, tuple[int, int]] = {}
        self._writing: dict[str, tuple[int, int]] = {}

    def begin(self) -> None:
        """A transaction starts: what an earlier one meant to write and did not commit is forgotten."""
        self._writing = {}

    def widen(self, spans: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """The rows to write for a batch's `spans` (`sqlite_spans`): those its rows do not cover yet,
        reaching `RESERVE` ids further."""
        covered = self._covered
        widen: dict[str, tuple[int, int]] = {}
        for hour, (low, high) in spans.items():
            known = covered.get(hour)
            if known is not None and known[0] <= low and high <= known[1]:
                continue
            if known is not None:
                low = min(low, known[0])
            widen[hour] = (low, high + self.RESERVE)
        self._writing = widen
        return widen

    def committed(self) -> None:
        """The transaction that wrote them committed: its rows cover what they say."""
        if not self._writing:
            return
        self._covered.update(self._writing)
        self._writing = {}
        if len(self._covered) > self.KEEP:
            for hour in sorted(self._covered)[: -self.KEEP]:
                del self._covered[hour]


def postgres_widen_cte(events: str, writer: str) -> str:
    """A data-modifying WITH item widening `writer`'s hours with the rows of the CTE `events` (which has
    `id` and `created_at`): the writer's statement (collab.store.statements)."""
    # Cut to the hour per row, formatted per hour: a batch's events are mostly of one.
    per_hour = (
        f"SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AS h, min(id) AS f, max(id) AS l FROM {events}"
        " GROUP BY 1"
    )
    return (
        f"hours AS (INSERT INTO event_hours (hour, writer, first_id, last_id) SELECT {_POSTGRES_HOUR}, {writer},"
        f" f, l FROM ({per_hour}) AS spans{_POSTGRES_CONFLICT})"
    )


def spans(pairs: Iterable[tuple[int, str]]) -> dict[str, tuple[int, int]]:
    """The first and last id of each hour among `(id, hour)` pairs."""
    found: dict[str, tuple[int, int]] = {}
    for event_id, hour in pairs:
        span = found.get(hour)
        found[hour] = (event_id, event_id) if span is None else (min(span[0], event_id), max(span[1], event_id))
    return found


def widen(conn: sa.Connection, hours: dict[str, tuple[int, int]], writer: str) -> None:
    """Widen `writer`'s ranges by `hours` (`spans`) in the caller's transaction."""
    if not hours:
        return
    if conn.dialect.name == "postgresql":
        names = list(hours)
        firsts, lasts = [hours[h][0] for h in names], [hours[h][1] for h in names]
        conn.exec_driver_sql(POSTGRES_WIDEN, (names, firsts, lasts, writer))
    else:
        conn.exec_driver_sql(SQLITE_WIDEN, [(h, writer, first, last) for h, (first, last) in hours.items()])


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def id_range(conn: Any, since: datetime | None, until: datetime | None) -> tuple[int, int | None] | None:
    """The ids the events stored at or after `since` and before `until` lie between: `(low, high)` (high
    None: no bound), or None when no event was stored in those hours. `conn`: an async connection."""
    if since is None and until is None:
        return 0, None
    query = sa.select(sa.func.min(event_hours.c.first_id), sa.func.max(event_hours.c.last_id))
    if since is not None:
        query = query.where(event_hours.c.hour >= hour_of(_utc(since)))
    if until is not None:
        # `until` is exclusive: an event at 10:00:00 is not before 10:00, so hour 10 is not needed.
        query = query.where(event_hours.c.hour <= hour_of(_utc(until) - timedelta(microseconds=1)))
    first, last = (await conn.execute(query)).one()
    if first is None:
        return None
    return (0 if since is None else first), (None if until is None else last)


def forget(conn: sa.Connection) -> None:
    """Drop the ranges that end below every kept event (after pruning): they can match nothing."""
    conn.execute(sa.text("DELETE FROM event_hours WHERE last_id < (SELECT coalesce(min(id), 0) FROM events)"))
