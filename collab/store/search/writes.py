"""Writing the index: its rows and hour ranges in the transaction that appends the events (the writer), or
that removes them (pruning), and in batches for an existing log (`collab.store.search.build`). So a search
never finds an event that is not committed and never misses one that is.

Driver-level SQL (`exec_driver_sql`: `?` on SQLite, `$n` on PostgreSQL), like the writer's own statements.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

SQLITE_INSERT = "INSERT INTO event_search (rowid, words, facets) VALUES (?, ?, ?)"
SQLITE_HOURS = (
    "INSERT INTO event_search_hours (hour, writer, first_id, last_id) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (hour, writer) DO UPDATE SET first_id = min(first_id, excluded.first_id),"
    " last_id = max(last_id, excluded.last_id)"
)
_POSTGRES_HOURS_CONFLICT = (
    " ON CONFLICT (hour, writer) DO UPDATE SET first_id = least(event_search_hours.first_id, excluded.first_id),"
    " last_id = greatest(event_search_hours.last_id, excluded.last_id)"
)
POSTGRES_INSERT = (
    "INSERT INTO event_search (id, terms) SELECT u.i, u.t::tsvector FROM unnest($1::bigint[], $2::text[]) AS u(i, t)"
)
POSTGRES_HOURS = (
    "INSERT INTO event_search_hours (hour, writer, first_id, last_id)"
    " SELECT u.h, $4, u.f, u.l FROM unnest($1::varchar[], $2::bigint[], $3::bigint[]) AS u(h, f, l)"
    + _POSTGRES_HOURS_CONFLICT
)


def postgres_append_ctes(first: int) -> str:
    """The writer's statement's part that indexes what `inserted` (its events' CTE, `RETURNING id,
    channel, seq`) stored: parameters `$first…$first+4` are the indexed events' channels, seqs, terms
    (tsvector text) and hours, and the writer's id. Joined on (channel, seq), as the ids are the
    database's; a row the insert skipped (an op id stored already) is not indexed."""
    c, s, t, h, w = (f"${first + offset}" for offset in range(5))
    return (
        f"matched AS (SELECT i.id, u.t, u.h FROM inserted i JOIN unnest({c}::varchar[], {s}::bigint[],"
        f" {t}::text[], {h}::varchar[]) AS u(c, s, t, h) ON i.channel = u.c AND i.seq = u.s),"
        " searched AS (INSERT INTO event_search (id, terms) SELECT id, t::tsvector FROM matched),"
        " spans AS (INSERT INTO event_search_hours (hour, writer, first_id, last_id)"
        f" SELECT h, {w}, min(id), max(id) FROM matched GROUP BY h" + _POSTGRES_HOURS_CONFLICT + ")"
    )


def hour_spans(indexed: Iterable[tuple[int, str]]) -> dict[str, tuple[int, int]]:
    """The first and last id of each hour among `(id, hour)` pairs."""
    spans: dict[str, tuple[int, int]] = {}
    for event_id, hour in indexed:
        span = spans.get(hour)
        spans[hour] = (event_id, event_id) if span is None else (min(span[0], event_id), max(span[1], event_id))
    return spans


def write_rows(conn: sa.Connection, rows: list[tuple[int, Any, str]], writer: str) -> None:
    """Index `(id, terms, hour)` rows in the caller's transaction (`terms` as `collab.store.search.rows`
    made them for this database)."""
    if not rows:
        return
    spans = hour_spans((event_id, hour) for event_id, _, hour in rows)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(POSTGRES_INSERT, ([row[0] for row in rows], [row[1] for row in rows]))
        hours = list(spans)
        first, last = [spans[h][0] for h in hours], [spans[h][1] for h in hours]
        conn.exec_driver_sql(POSTGRES_HOURS, (hours, first, last, writer))
    else:
        conn.exec_driver_sql(SQLITE_INSERT, [(event_id, *terms) for event_id, terms, _ in rows])
        conn.exec_driver_sql(SQLITE_HOURS, [(h, writer, first, last) for h, (first, last) in spans.items()])


def delete_rows(conn: sa.Connection, channel: str, last_seq: int) -> None:
    """Remove the index rows of `channel`'s events up to `last_seq`, before those events go (pruning)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "DELETE FROM event_search s USING events e"
                " WHERE s.id = e.id AND e.channel = :channel AND e.seq <= :last"
            ),
            {"channel": channel, "last": last_seq},
        )
    else:
        conn.execute(
            sa.text(
                "DELETE FROM event_search WHERE rowid IN"
                " (SELECT id FROM events WHERE channel = :channel AND seq <= :last)"
            ),
            {"channel": channel, "last": last_seq},
        )


def forget_hours(conn: sa.Connection) -> None:
    """Drop the hour ranges that end below every kept event (after pruning): they can match nothing."""
    conn.execute(sa.text("DELETE FROM event_search_hours WHERE last_id < (SELECT coalesce(min(id), 0) FROM events)"))
