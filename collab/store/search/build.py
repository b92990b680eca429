"""Indexing a log that exists: every stored event with typed text, read in id order a batch at a time and
indexed by the same code as an append (`index_terms`), and every event's hour in `event_hours`
(collab/store/hours.py). Migration 0006 runs it once; it is also how a benchmark indexes a log it
bulk-loaded.

One transaction per call (the migration's): a database that is being migrated serves nobody, and a
failure leaves the log unindexed and the migration not applied, to be run again.
"""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa

from collab.store.hours import hour_of, spans, widen
from collab.store.rows import aware
from collab.store.schema import events
from collab.store.search.rows import index_terms
from collab.store.search.writes import write_rows

BUILD_BATCH = 5000
BUILD_WRITER = "migration"


def build_index(conn: sa.Connection, *, batch: int = BUILD_BATCH) -> int:
    """Index every event of `conn`'s log that has typed text into the empty index, and record the hours
    of every event; the number indexed."""
    postgres = conn.dialect.name == "postgresql"
    last = indexed = 0
    columns = (events.c.id, events.c.channel, events.c.type, events.c.user_id, events.c.data, events.c.created_at)
    while True:
        found = conn.execute(sa.select(*columns).where(events.c.id > last).order_by(events.c.id).limit(batch)).all()
        if not found:
            return indexed
        rows = []
        for event_id, channel, event_type, user_id, data, _ in found:
            terms = index_terms(postgres, channel, event_type, user_id, data)
            if terms is not None:
                rows.append((event_id, terms))
        write_rows(conn, rows)
        widen(conn, spans((row[0], hour_of(aware(row[5]).astimezone(UTC))) for row in found), BUILD_WRITER)
        last = found[-1][0]
        indexed += len(rows)
