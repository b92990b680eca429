"""The monitor page in Chromium: `collab serve` on the test's own database (SQLite and PostgreSQL).

A package of its own: Playwright's sync API runs an event loop of its own while the browser is open, so
the browser (package-scoped, see support.browser) is closed before the async tests next to this package run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.browser import (
    browser,  # noqa: F401 - a fixture of this package
    watch,  # noqa: F401 - a fixture
)
from support.servers import serving


@pytest.fixture
def monitor_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    # One connection fires the alert: the page's own socket is enough.
    with serving(tmp_path, database_url, COLLAB_ALERT_CONNECTIONS="1") as server:
        yield server.url
