"""Writing the index: its rows in the transaction that appends the events (the writer), or that removes
them (pruning), and in batches for an existing log (`collab.store.search.build`). So a search never finds
an event that is not committed and never misses one that is.

On SQLite a small batch stages its rows in a plain table, `event_search_pending`, in the append's
transaction, and they move into FTS5 a few hundred at a time (`SQLITE_MERGE`): in the transaction of the
batch that brings them to `StagedIndex.MERGE_AT` (that batch's own rows go straight into FTS5), by the
writer a moment after the first was staged (collab.store.search.staging), and by any search or prune
before it reads or removes index rows (a prune in its own transaction, a search in one before it
reads). This is PostgreSQL's GIN "pending list" (`fastupdate`), for the same reason: FTS5 writes a
segment and rewrites its structure record at the end of every transaction that touched it, 40 µs
whatever the rows, which a chat message alone in its batch paid in full: a single-event append cost 1.8
times as much with the index as without.

Driver-level SQL (`exec_driver_sql`: `?` on SQLite, `$n` on PostgreSQL), like the writer's own statements.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from collab.store.schema import events
from collab.store.search.rows import index_terms

SQLITE_INSERT = "INSERT INTO event_search (rowid, words, facets) VALUES (?, ?, ?)"
# Staged by an append (the writer's transaction); merged into FTS5 by `SQLITE_MERGE`'s statements.
SQLITE_STAGE = "INSERT INTO event_search_pending (id, words, facets) VALUES (?, ?, ?)"
SQLITE_MERGE = (
    "INSERT INTO event_search (rowid, words, facets) SELECT id, words, facets FROM event_search_pending ORDER BY id",
    "DELETE FROM event_search_pending",
)
POSTGRES_INSERT = (
    "INSERT INTO event_search (id, terms) SELECT u.i, u.t::tsvector FROM unnest($1::bigint[], $2::text[]) AS u(i, t)"
)


def postgres_append_cte(first: int) -> str:
    """The writer's statement's part that indexes what `inserted` (its events' CTE, `RETURNING id,
    channel, seq, …`) stored: parameters `$first…$first+2` are the indexed events' channels, seqs and terms
    (tsvector text). Joined on (channel, seq), as the ids are the database's; a row the insert skipped (an
    op id stored already) is not indexed."""
    c, s, t = (f"${first + offset}" for offset in range(3))
    return (
        "searched AS (INSERT INTO event_search (id, terms) SELECT i.id, u.t::tsvector FROM inserted i"
        f" JOIN unnest({c}::varchar[], {s}::bigint[], {t}::text[]) AS u(c, s, t) ON i.channel = u.c AND i.seq = u.s)"
    )


def write_rows(conn: sa.Connection, rows: list[tuple[int, Any]]) -> None:
    """Index `(id, terms)` rows in the caller's transaction (`terms` as `collab.store.search.rows` made
    them for this database)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(POSTGRES_INSERT, ([row[0] for row in rows], [row[1] for row in rows]))
    else:
        conn.exec_driver_sql(SQLITE_INSERT, [(event_id, *terms) for event_id, terms in rows])


SQLITE_DELETE = "INSERT INTO event_search (event_search, rowid, words, facets) VALUES ('delete', ?, ?, ?)"


def merge_pending(conn: sa.Connection) -> None:
    """Move SQLite's staged index rows into FTS5, in the caller's (write) transaction."""
    for statement in SQLITE_MERGE:
        conn.exec_driver_sql(statement)


def has_pending(conn: sa.Connection) -> bool:
    """Whether SQLite holds staged index rows (a read: a search merges only when there are some)."""
    return conn.exec_driver_sql("SELECT 1 FROM event_search_pending LIMIT 1").first() is not None


def delete_rows(conn: sa.Connection, channel: str, last_seq: int) -> None:
    """Remove the index rows of `channel`'s events up to `last_seq`, before those events go (pruning).

    SQLite's FTS5 table keeps no copy of what it indexed (`content=''`: half its size, and a third less
    work for each append), so it removes a row given the very terms it was given: they are made again
    from the event by the code that made them (`index_terms`). That code is the index's format: a change
    to what it gives for a stored event needs the index rebuilt (a migration dropping and building it),
    or a prune would remove terms the index does not hold."""
    params = {"channel": channel, "last": last_seq}
    if conn.dialect.name == "postgresql":
        sql = "DELETE FROM event_search s USING events e WHERE s.id = e.id AND e.channel = :channel AND e.seq <= :last"
        conn.execute(sa.text(sql), params)
        return
    # FTS5 must hold every row it is told to delete: a staged row is not in it yet.
    merge_pending(conn)
    doomed = conn.execute(
        sa.select(events.c.id, events.c.type, events.c.user_id, events.c.data).where(
            events.c.channel == channel, events.c.seq <= last_seq
        )
    )
    rows = []
    for event_id, event_type, user_id, data in doomed:
        terms = index_terms(False, channel, event_type, user_id, data)
        if terms is not None:
            rows.append((event_id, *terms))
    if rows:
        conn.exec_driver_sql(SQLITE_DELETE, rows)
