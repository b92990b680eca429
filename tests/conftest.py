"""Fixtures for every suite: a fresh, migrated database per test on SQLite and on PostgreSQL.

Migrating takes a second or so, so each dialect is migrated once per session into a template, and
each test gets a copy: `CREATE DATABASE … TEMPLATE` on PostgreSQL, a file copy on SQLite.

PostgreSQL is the local server (`COLLAB_TEST_POSTGRES`, default postgres@127.0.0.1:5432, trust
auth). Its tests carry the `postgres` marker: `-m "not postgres"` runs without a server.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from support.closing import opened
from support.databases import (
    DIALECTS,
    create_postgres_database,
    drop_postgres_database,
    in_thread,
    migrated_sqlite_file,
    postgres_url,
    sqlite_url,
)

from collab.store.migrate import upgrade_to_head
from collab.store.sql import SqlEventStore

# The app fixtures (`make_settings`, `start`) serve every suite; tests/support/__init__.py says why
# `support` imports from here.
pytest_plugins = ["support.apps"]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # pytest-asyncio warns at start-up (an error, since warnings are errors) while
    # `asyncio_default_fixture_loop_scope` is unset; its default (each fixture's own scope) is what
    # these fixtures want. The proper home is `asyncio_default_fixture_loop_scope = "function"` in
    # pyproject.toml; once it is there, this hook can go.
    if not config.getini("asyncio_default_fixture_loop_scope"):
        warnings.filterwarnings("ignore", message='The configuration option "asyncio_default_fixture_loop_scope"')


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
    async with opened(SqlEventStore.open(database_url)) as store:
        yield store
