"""Every page in Chromium under the server's Content-Security-Policy: `collab serve` on a fresh SQLite
database. A package of its own, for the browser's scope (see support.browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.browser import browser, watch  # noqa: F401 - fixtures (the browser is this package's)
from support.servers import serving


@pytest.fixture
def page_server(tmp_path: Path) -> Iterator[str]:
    with serving(tmp_path) as server:
        yield server.url
