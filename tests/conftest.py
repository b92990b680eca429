"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

Migrating takes a second or so, so each dialect is migrated once per session into a template, and
each test gets a copy: `CREATE DATABASE … TEMPLATE` on PostgreSQL, a file copy on SQLite.

PostgreSQL is the local server (`COLLAB_TEST_POSTGRES`, default postgres@127.0.0.1:5432, trust
auth). Its tests carry the `postgres` marker: `-m "not postgres"` runs without a server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import uuid
import warnings
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from collab.store.migrate import upgrade_to_head
from collab.store.sql import SqlEventStore

POSTGRES_SERVER = os.environ.get("COLLAB_TEST_POSTGRES", "postgres@127.0.0.1:5432")
T = TypeVar("T")
DIALECTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # pytest-asyncio warns at start-up (an error, since warnings are errors) while
    # `asyncio_default_fixture_loop_scope` is unset; its default (each fixture's own scope) is what
    # these fixtures want. The proper home is `asyncio_default_fixture_loop_scope = "function"` in
    # pyproject.toml; once it is there, this hook can go.
    if not config.getini("asyncio_default_fixture_loop_scope"):
        warnings.filterwarnings("ignore", message='The configuration option "asyncio_default_fixture_loop_scope"')


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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_file(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    async def create() -> str:
        name = await create_postgres_database()
        try:
            await upgrade_to_head(postgres_url(name))
        except BaseException:
            await drop_postgres_database(name)
            raise
        return name

    name = in_thread(create())
    yield name
    in_thread(drop_postgres_database(name))


@pytest.fixture(params=DIALECTS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated database of its own for each test, once per dialect."""
    dialect = request.param
    if dialect == "sqlite":
        path = tmp_path / "collab.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield sqlite_url(path)
        return
    template = request.getfixturevalue("postgres_template")
    name = in_thread(create_postgres_database(template))
    try:
        yield postgres_url(name)
    finally:
        in_thread(drop_postgres_database(name))


@pytest.fixture(params=DIALECTS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Like `database_url`, but with no tables at all (for the migration tests)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "collab.db")
        return
    name = in_thread(create_postgres_database())
    try:
        yield postgres_url(name)
    finally:
        in_thread(drop_postgres_database(name))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlEventStore]:
    """An open `SqlEventStore` on the test's database, closed after the test."""
    opened = await SqlEventStore.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()
