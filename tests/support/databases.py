"""Fresh databases for tests: PostgreSQL databases made from a migrated template, SQLite files copied
from a migrated one. The root conftest's fixtures (`database_url`, `store`, ...) are built on these."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from collab.store.migrate import upgrade_to_head

POSTGRES_SERVER = os.environ.get("COLLAB_TEST_POSTGRES", "postgres@127.0.0.1:5432")
T = TypeVar("T")
DIALECTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to the end on a loop of its own in another thread, so that a fixture can set
    up databases whether or not the test's loop is running (and without touching that loop)."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


def postgres_url(database: str) -> str:
    return f"postgresql+asyncpg://{POSTGRES_SERVER}/{database}"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def postgres_admin(sql: str) -> None:
    """Run one statement on the server's `postgres` database (CREATE/DROP DATABASE can't run in a
    transaction, and asyncpg runs a lone statement outside one)."""
    conn = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_postgres_database(template: str | None = None) -> str:
    name = f"collab_test_{uuid.uuid4().hex[:12]}"
    await postgres_admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


async def drop_postgres_database(name: str) -> None:
    # FORCE: a test that killed a process may leave its backend behind for a moment.
    await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated_sqlite_file(directory: Path) -> Path:
    path = directory / "template.db"
    in_thread(upgrade_to_head(sqlite_url(path)))
    # Fold the WAL into the main file so that copying that one file copies the whole database.
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path
