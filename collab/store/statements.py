"""The writer's hot statements, compiled once per dialect and executed with ready-made parameters, so no
per-row type processing happens in SQLAlchemy."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from collab.store.rows import _ROW_COLUMNS
from collab.store.schema import channels, events

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
    arrays = (sa.bindparam(name, type_=postgresql.ARRAY(_COLUMN_TYPES[name])) for name in _ROW_COLUMNS)
    rows = sa.func.unnest(*arrays).table_valued(*_ROW_COLUMNS).render_derived()
    values = (sa.cast(rows.c.data, postgresql.JSONB) if name == "data" else rows.c[name] for name in _ROW_COLUMNS)
    return (
        postgresql.insert(events)
        .from_select(list(_ROW_COLUMNS), sa.select(*values))
        .on_conflict_do_nothing(index_elements=[events.c.op_key])
    )


def _set_heads_from_arrays() -> Any:
    """`UPDATE channels SET head_seq = v.h FROM unnest(:n, :h) AS v(n, h) WHERE name = v.n`."""
    names = sa.bindparam("n", type_=postgresql.ARRAY(sa.String))
    new_heads = sa.func.unnest(names, sa.bindparam("h", type_=postgresql.ARRAY(sa.BigInteger)))
    values = new_heads.table_valued("n", "h").render_derived()
    return channels.update().where(channels.c.name == values.c.n).values(head_seq=values.c.h)


def _compile(statement: Any, dialect: sa.Dialect, order: tuple[str, ...]) -> str:
    """The statement's SQL for `dialect`, checked to take its positional parameters in `order`."""
    compiled = statement.compile(dialect=dialect)
    if tuple(compiled.positiontup or ()) != order:
        raise RuntimeError(f"compiled parameters {compiled.positiontup} are not in the order {order}")
    return str(compiled)
