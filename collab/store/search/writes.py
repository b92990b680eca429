"""Writing the index. PostgreSQL's rows go in the transaction that appends the events (the writer's one
statement); pruning removes rows in the transaction that removes their events; `collab.store.search.build`
indexes an existing log in batches. So a search never finds an event that is not committed and never
misses one that is.

SQLite's index follows the log instead: `event_search_progress` holds the id through which every event is
indexed, and `catch_up` indexes the events above it, a few hundred at a time, in a write transaction of
its own: the writer's, between its batches (collab.store.search.catch_up says when), and any search's or
prune's before it reads or removes index rows. A search therefore still sees every event committed before
it began. Why not in the append's transaction: FTS5 writes a segment and rewrites its structure record at
the end of every transaction that touched it, 40 µs whatever the rows, which a chat message alone in its
batch paid in full (a single-event append cost 1.8 times as much with the index as without); and a staging
table in between (migration 0008, which 0009 replaced) still cost each such append a statement and a page
of its own. The log holds everything the index needs: the catch-up makes the terms from the events, with
the same code as PostgreSQL's appends (`index_terms`).

Driver-level SQL (`exec_driver_sql`: `?` on SQLite, `$n` on PostgreSQL), like the writer's own statements.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from collab.store.schema import events
from collab.store.search.rows import index_terms

SQLITE_INSERT = "INSERT INTO event_search (rowid, words, facets) VALUES (?, ?, ?)"
# The first statement of a catch-up writes: pysqlite begins its transaction (and SQLite takes the write
# lock) before the reads, so no other catch-up can index the same events meanwhile. FTS5 would take a
# contentless row twice, and pruning could not remove it.
_SQLITE_LOCK_PROGRESS = "UPDATE event_search_progress SET last_id = last_id"
_SQLITE_PROGRESS = "SELECT last_id, (SELECT max(id) FROM events) FROM event_search_progress"
# A document's events (binary updates, no `data`) have no text: left out by SQLite.
_SQLITE_UNINDEXED = (
    "SELECT id, channel, type, user_id, data FROM events WHERE id > ? AND id <= ? AND data IS NOT NULL"
    " ORDER BY id LIMIT ?"
)
_SQLITE_ADVANCE = "UPDATE event_search_progress SET last_id = ?"
_SQLITE_BEHIND = "SELECT 1 FROM events WHERE id > (SELECT last_id FROM event_search_progress) LIMIT 1"
# After a prune: SQLite gives a new event the id one above the largest left (an INTEGER PRIMARY KEY without
# AUTOINCREMENT), which is at or below the mark if the newest events went; the mark comes down to it.
_SQLITE_PRUNED = "UPDATE event_search_progress SET last_id = min(last_id, coalesce((SELECT max(id) FROM events), 0))"
CATCH_UP_BATCH = 5000  # events read at a time
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


def _sqlite_rows(found: Iterable[tuple[int, str, str, str | None, Any]]) -> list[tuple[Any, ...]]:
    """SQLite's index rows `(id, words, facets)` of events `(id, channel, type, user_id, data)`: what a
    catch-up inserts and a prune deletes (an event without text has none)."""
    rows = []
    for event_id, channel, event_type, user_id, data in found:
        terms = index_terms(False, channel, event_type, user_id, data)
        if terms is not None:
            rows.append((event_id, *terms))
    return rows


def catch_up(conn: sa.Connection, *, batch: int = CATCH_UP_BATCH) -> int:
    """Index SQLite's events above the progress mark and move it to the newest, in the caller's write
    transaction; the number of events indexed. On the driver's cursor: through SQLAlchemy's execution,
    its statements cost the writer's catch-ups 100 µs each."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(_SQLITE_LOCK_PROGRESS)
        cursor.execute(_SQLITE_PROGRESS)
        last, newest = cursor.fetchone()
        if newest is None or newest <= last:
            return 0
        indexed = 0
        while True:
            cursor.execute(_SQLITE_UNINDEXED, (last, newest, batch))
            found = cursor.fetchall()
            rows = _sqlite_rows((i, channel, kind, user, orjson.loads(data)) for i, channel, kind, user, data in found)
            if rows:
                cursor.executemany(SQLITE_INSERT, rows)
            indexed += len(rows)
            if len(found) < batch:
                break
            last = found[-1][0]
        cursor.execute(_SQLITE_ADVANCE, (newest,))
        return indexed
    except conn.dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy would have raised it, for the callers' translation (a busy database: unavailable).
        raise sa_exc.DBAPIError.instance("catch_up", None, error, conn.dialect.loaded_dbapi.Error) from error
    finally:
        cursor.close()


def is_behind(conn: sa.Connection) -> bool:
    """Whether SQLite's index is behind the log (a read: a search catches up only when it is)."""
    return conn.exec_driver_sql(_SQLITE_BEHIND).first() is not None


def after_prune(conn: sa.Connection) -> None:
    """In the transaction that deleted events, after the delete: SQLite's mark comes down to the newest
    event left (see `_SQLITE_PRUNED`). Nothing to do on PostgreSQL."""
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql(_SQLITE_PRUNED)


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
    # FTS5 must hold every row it is told to delete: an event above the mark is not in it yet.
    catch_up(conn)
    doomed = conn.execute(
        sa.select(events.c.id, events.c.type, events.c.user_id, events.c.data).where(
            events.c.channel == channel, events.c.seq <= last_seq
        )
    )
    rows = _sqlite_rows((i, channel, kind, user, data) for i, kind, user, data in doomed)
    if rows:
        conn.exec_driver_sql(SQLITE_DELETE, rows)
