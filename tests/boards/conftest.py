"""Board tests at the engine level: clusters of channel managers on every store (`database_url`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.boards import Cluster
from support.closing import opened


@pytest.fixture
async def cluster(database_url: str) -> AsyncIterator[Cluster]:
    """One server process on the test's database."""
    async with opened(Cluster.open(database_url)) as cluster:
        yield cluster
