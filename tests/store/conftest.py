"""The store suites' `store`: every implementation of the port (support.stores), on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.closing import opened
from support.stores import IMPLEMENTATIONS

from collab.store.base import EventStore


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def store(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[EventStore]:
    async with opened(IMPLEMENTATIONS[request.param](database_url)) as store:
        yield store
