"""Board tests: engine-level clusters on every store (`database_url`), and the browser fixtures of
tests/browser (the server there is started per test here, on the test's own database)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .helpers import Cluster


@pytest.fixture
async def cluster(database_url: str) -> AsyncIterator[Cluster]:
    """One server process on the test's database."""
    opened = await Cluster.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()
