"""Reads of a few rows by a list of keys, as a burst of joins makes them (channel records, heads, read
positions), written once for both ways they run.

- Through the pool (PostgreSQL, or SQLite when its loop's-thread reader is busy): SQLAlchemy with an
  expanding `IN (…)`.
- On SQLite, on the loop's thread (`SqliteWriteConnection.read_now`): the same select with the keys as
  one JSON array (`IN (SELECT value FROM json_each(?))`), compiled to SQL once and run on the driver's
  connection, each column converted by its SQLAlchemy type. SQLAlchemy's execution of an expanding
  `IN` (a new SQL text per number of keys, then its result machinery) cost two thirds of each such
  read: 25 µs where the driver takes 9, and these reads were a fifth of a connect's CPU in a profile
  of 10,000 sockets connecting.

Rows come back as tuples in the select's column order either way: callers unpack them by position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

KEYS = "keys"
_SQLITE = sqlite.dialect()


@dataclass(frozen=True)
class KeyedRead:
    """`select(*columns).where(key IN keys)` (plus `order_by`), both ways."""

    portable: sa.Select[Any]
    sqlite_sql: str
    convert: tuple[Callable[[Any], Any] | None, ...] = field(repr=False)
    converts: bool = field(init=False, repr=False)  # whether any column needs converting

    def __post_init__(self) -> None:
        object.__setattr__(self, "converts", any(self.convert))


def keyed_read(columns: Sequence[sa.ColumnElement[Any]], key: sa.ColumnElement[Any], *order_by: Any) -> KeyedRead:
    portable = sa.select(*columns).where(key.in_(sa.bindparam(KEYS, expanding=True))).order_by(*order_by)
    from_json = sa.select(sa.column("value")).select_from(sa.func.json_each(sa.bindparam(KEYS)))
    on_sqlite = sa.select(*columns).where(key.in_(from_json)).order_by(*order_by)
    sql = str(on_sqlite.compile(dialect=_SQLITE))
    convert = tuple(column.type.dialect_impl(_SQLITE).result_processor(_SQLITE, None) for column in columns)
    return KeyedRead(portable, sql, convert)


def sqlite_parameters(keys: Sequence[str]) -> tuple[str]:
    """The keys as the SQLite form's one parameter."""
    return (orjson.dumps(list(keys)).decode(),)


def converted(read: KeyedRead, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The driver's rows with each column as SQLAlchemy's type gives it (a boolean, a datetime)."""
    if not read.converts:
        return rows
    convert = read.convert
    return [tuple(value if f is None else f(value) for f, value in zip(convert, row, strict=True)) for row in rows]
