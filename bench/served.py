"""The real application on a freshly migrated database, served on a local port, for the bench scripts.

Not a test helper: the scripts here print figures (speed, cadence) that the test suite deliberately does
not assert on, because a shared machine makes wall-clock bounds flaky.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from app.config import Settings
from app.factory import create_app
from collab.store.migrate import upgrade_to_head


@contextlib.asynccontextmanager
async def served(url: str | None = None, **overrides: Any) -> AsyncIterator[TestClient]:
    """A client of the app on `url` (migrated first), or on a new SQLite file that is gone afterwards."""
    with tempfile.TemporaryDirectory(prefix="collab-bench-") as tmp:
        url = url or f"sqlite+aiosqlite:///{tmp}/collab.db"
        await upgrade_to_head(url)
        settings = dataclasses.replace(
            Settings.from_env({}), database_url=url, data_dir=Path(tmp) / "data", **overrides
        )
        async with TestClient(TestServer(create_app(settings))) as client:
            yield client
