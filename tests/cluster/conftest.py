"""Several `collab serve` processes on one PostgreSQL database: real processes, the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from support.databases import create_postgres_database, drop_postgres_database, in_thread, postgres_url
from support.servers import ServerProcess


@pytest.fixture
def cluster_database(postgres_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database of the test's own."""
    name = in_thread(create_postgres_database(postgres_template))
    try:
        yield postgres_url(name)
    finally:
        in_thread(drop_postgres_database(name))


@pytest.fixture
def nodes(cluster_database: str, tmp_path: Path) -> Iterator[Callable[[int], list[ServerProcess]]]:
    """`nodes(n)`: n server processes on the test's database, started (each its own data directory)."""
    started: list[ServerProcess] = []

    def start(count: int, **settings: str) -> list[ServerProcess]:
        made = []
        for _ in range(count):
            data_dir = tmp_path / f"node{len(started)}"
            data_dir.mkdir()
            node = ServerProcess(data_dir, cluster_database, **settings)
            node.start()
            started.append(node)
            made.append(node)
        return made

    try:
        yield start
    finally:
        for node in started:
            node.stop()


@pytest.fixture
async def http() -> AsyncIterator[Callable[[ServerProcess], aiohttp.ClientSession]]:
    """`http(node)`: a client session with the node's base URL (closed after the test)."""
    sessions: list[aiohttp.ClientSession] = []

    def session_for(node: ServerProcess) -> aiohttp.ClientSession:
        made = aiohttp.ClientSession(base_url=node.url)
        sessions.append(made)
        return made

    yield session_for
    for made in sessions:
        await made.close()
