"""The writer's hot statements, compiled once per dialect and executed with ready-made parameters, so no
per-row type processing happens in SQLAlchemy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from collab.store import notify
from collab.store.hours import postgres_widen_cte
from collab.store.keyed import keyed_read
from collab.store.rows import EVENT_COLUMNS, ROW_COLUMNS
from collab.store.schema import channels, events
from collab.store.search.writes import postgres_append_cte

# Channels' heads by name: a join's read, and SQLite's writer's (on the driver's connection, where its
# one write lock, taken by `BEGIN IMMEDIATE`, orders the batches; PostgreSQL's writer locks the rows
# instead, `collab.store.pg_writer.PostgresStatements.lock_heads`).
HEADS = keyed_read((channels.c.name, channels.c.head_seq), channels.c.name)
# One channel's head, as `HEADS` gives it: SQLite's writer's read for a batch of one channel.
HEAD_SQLITE = "SELECT name, head_seq FROM channels WHERE name = ?"

_COLUMN_TYPES: dict[str, Any] = {
    "channel": sa.String,
    "seq": sa.BigInteger,
    "type": sa.String,
    "user_id": sa.String,
    "nickname": sa.String,
    "op_id": sa.String,
    "op_key": sa.BigInteger,
    "data": sa.Text,  # JSON text, cast to JSONB by the statement
    "blob": sa.LargeBinary,
    "created_at": sa.DateTime(timezone=True),
}


def _insert_from_arrays() -> Any:
    """`INSERT INTO events … SELECT … FROM unnest(:channel, :seq, …)`: PostgreSQL only."""
    arrays = (sa.bindparam(name, type_=postgresql.ARRAY(_COLUMN_TYPES[name])) for name in ROW_COLUMNS)
    rows = sa.func.unnest(*arrays).table_valued(*ROW_COLUMNS).render_derived()
    values = (sa.cast(rows.c.data, postgresql.JSONB) if name == "data" else rows.c[name] for name in ROW_COLUMNS)
    return (
        postgresql.insert(events)
        .from_select(list(ROW_COLUMNS), sa.select(*values))
        .on_conflict_do_nothing(index_elements=[events.c.op_key])
    )


def _set_heads_from_arrays() -> Any:
    """`UPDATE channels SET head_seq = v.h FROM unnest(:n, :h) AS v(n, h) WHERE name = v.n`."""
    names = sa.bindparam("n", type_=postgresql.ARRAY(sa.String))
    new_heads = sa.func.unnest(names, sa.bindparam("h", type_=postgresql.ARRAY(sa.BigInteger)))
    values = new_heads.table_valued("n", "h").render_derived()
    return channels.update().where(channels.c.name == values.c.n).values(head_seq=values.c.h)


def compile_positional(statement: Any, dialect: sa.Dialect, order: tuple[str, ...]) -> str:
    """The statement's SQL for `dialect`, checked to take its positional parameters in `order`."""
    compiled = statement.compile(dialect=dialect)
    if tuple(compiled.positiontup or ()) != order:
        raise RuntimeError(f"compiled parameters {compiled.positiontup} are not in the order {order}")
    return str(compiled)


@dataclass(frozen=True, slots=True)
class Statements:
    """The writer's statements for one dialect (see `collab.store.writer` for the order they run in)."""

    insert_sql: str  # the batch's rows, skipping an op key stored already
    set_head_sql: str  # the channels' new heads
    # SQLite: the stored events carrying one of the batch's op keys, and the rows of channels not seen
    # before (None on PostgreSQL, whose writer has its own, on the driver: collab.store.pg_writer).
    find_ops: Any
    create_channels: Any
    # PostgreSQL: the whole write after the locks, index rows included, in one round trip (see
    # `statements_for`).
    write_sql: str | None = None


def statements_for(dialect: sa.Dialect) -> Statements:
    """Built and compiled once per writer, so a batch only binds its values."""
    if dialect.name == "postgresql":
        # One statement per batch on PostgreSQL, its rows as one array per column: asyncpg's
        # executemany costs the server an execution per row (40 us an event measured).
        insert_sql = compile_positional(_insert_from_arrays(), dialect, ROW_COLUMNS)
        set_head_sql = compile_positional(_set_heads_from_arrays(), dialect, ("n", "h"))
    else:
        # SQLite runs in-process: executemany is just a loop over one prepared statement.
        insert_sql = compile_positional(
            sqlite.insert(events)
            .values({name: sa.bindparam(name) for name in ROW_COLUMNS})
            .on_conflict_do_nothing(index_elements=[events.c.op_key]),
            dialect,
            ROW_COLUMNS,
        )
        set_head_sql = compile_positional(
            channels.update().where(channels.c.name == sa.bindparam("n")).values(head_seq=sa.bindparam("h")),
            dialect,
            ("h", "n"),
        )
    find_ops = create_channels = write_sql = None
    if dialect.name == "sqlite":
        # The batch's op keys go in as one parameter (a JSON array), so the statement is the same for
        # every batch and the driver binds one value, not 1,000.
        values = sa.func.json_each(sa.bindparam("keys", type_=sa.String)).table_valued("value")
        find_ops = sa.select(*EVENT_COLUMNS, events.c.op_key).where(events.c.op_key.in_(sa.select(values.c.value)))
        create_channels = sqlite.insert(channels).on_conflict_do_nothing()
    if dialect.name == "postgresql":
        # The rows, their search index rows (collab.store.search.writes) and hours (collab.store.hours),
        # the new heads and the batch's notifications (collab.store.notify) in one statement, so the
        # channels' row locks are held for one round trip and the commit. It answers how many rows went
        # in: fewer than sent means an op-key conflict, and the caller rolls back (the notifications, index
        # rows and hours with it).
        # Data-modifying WITHs run whether or not they are read; `notified` is read, and unnest hands the
        # payloads to pg_notify in array order, the order listeners hear.
        after_rows = len(ROW_COLUMNS)
        heads_sql = re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + after_rows}", set_head_sql)
        write_sql = (
            f"WITH inserted AS ({insert_sql} RETURNING id, channel, seq, created_at), moved AS ({heads_sql}),"
            f" notified AS (SELECT pg_notify('{notify.EVENTS}', p) FROM unnest(${after_rows + 3}::text[]) AS p),"
            f" {postgres_append_cte(after_rows + 4)}, {postgres_widen_cte('inserted', f'${after_rows + 7}')}"
            " SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM notified)"
        )
    return Statements(insert_sql, set_head_sql, find_ops, create_channels, write_sql)
