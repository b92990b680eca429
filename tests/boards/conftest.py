"""Board tests at the engine level: clusters of channel managers on every store (`database_url`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.boards import Cluster


@pytest.fixture
async def cluster(database_url: str) -> AsyncIterator[Cluster]:
    """One server process on the test's database."""
    opened = await Cluster.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()
