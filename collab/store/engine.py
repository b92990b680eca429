"""Creating SQLAlchemy engines for either database, with the settings the store relies on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_DATA_DIR = "./data"


def default_database_url(data_dir: str | None = None) -> str:
    """`COLLAB_DATABASE_URL`, else SQLite in the data dir. Shared by the app and alembic's env.py."""
    url = os.environ.get("COLLAB_DATABASE_URL")
    if url:
        return url
    data_dir = data_dir or os.environ.get("COLLAB_DATA_DIR") or DEFAULT_DATA_DIR
    return f"sqlite+aiosqlite:///{Path(data_dir) / 'collab.db'}"


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def _sqlite_synchronous() -> str:
    synchronous = (os.environ.get("COLLAB_SQLITE_SYNCHRONOUS") or "NORMAL").upper()
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"COLLAB_SQLITE_SYNCHRONOUS must be NORMAL, FULL, EXTRA or OFF, not {synchronous!r}")
    return synchronous


def sqlite_busy_timeout_ms() -> int:
    """How long a SQLite write waits for another connection's lock before it fails (and the client is
    answered `unavailable`): `COLLAB_SQLITE_BUSY_TIMEOUT_MS`, 10,000 by default."""
    raw = os.environ.get("COLLAB_SQLITE_BUSY_TIMEOUT_MS") or "10000"
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"COLLAB_SQLITE_BUSY_TIMEOUT_MS must be a whole number of milliseconds ≥ 0, not {raw!r}")
    return value


# The page size of a database file SQLite creates (an existing file keeps its own: WAL mode cannot change
# it, and `VACUUM` outside WAL mode would). A commit appends each page it changed to the WAL whole, with a
# checksum over it and two system calls: a message alone in its commit changes about five pages (the event,
# its two index entries, its channel's head, its search row), so their size is most of SQLite's work for it.
# 2 KB pages cut a 10x10 broadcast's instructions per message by 2 % (callgrind, against 4 KB). Not 1 KB
# (3 %): an index entry longer than 231 bytes spills to an overflow page there, and the composite keys of
# two 200-character names (a read position: channel, user) can be longer; at 2 KB the limit is 488.
SQLITE_PAGE_SIZE = 2048


def _prepare_sqlite(engine: Engine, url: URL) -> None:
    """WAL mode (readers never block the one writer) and `synchronous=NORMAL` by default: a killed
    process loses nothing committed, a power cut may lose the last commits.
    `COLLAB_SQLITE_SYNCHRONOUS=FULL` fsyncs every commit. A new file gets `SQLITE_PAGE_SIZE`."""
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    synchronous = _sqlite_synchronous()
    busy_timeout = sqlite_busy_timeout_ms()

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL mode, which fixes it
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout}")
        cursor.close()


def make_engine(url: str | URL, *, pool_size: int = 5) -> AsyncEngine:
    """The async engine for `url` (aiosqlite or asyncpg), JSON through orjson."""
    parsed = make_url(url)
    engine = create_async_engine(
        parsed, json_serializer=_json_dumps, json_deserializer=orjson.loads, pool_size=pool_size
    )
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite(engine.sync_engine, parsed)
    return engine


def make_sync_engine(url: str | URL, **options: Any) -> Engine:
    """A plain engine (SQLite's writer uses one), with the same settings as `make_engine`."""
    parsed = make_url(url)
    engine = sa.create_engine(parsed, json_serializer=_json_dumps, json_deserializer=orjson.loads, **options)
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite(engine, parsed)
    return engine
