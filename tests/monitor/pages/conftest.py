"""The monitor page in Chromium: `collab serve` on the test's own database (SQLite and PostgreSQL), with
tests/browser's chromium and page watch.

A package of its own: Playwright's sync API runs an event loop of its own while the browser is open, so
the browser (package-scoped) is closed before the async tests next to this package run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser.conftest import (  # tests/browser's fixtures and server, shared
    ServerProcess,
    browser,  # noqa: F401 - a fixture
    free_port,
    watch,  # noqa: F401 - a fixture
)


class PageServer(ServerProcess):
    """`collab serve` on an already migrated database, with extra settings."""

    def __init__(self, data_dir: Path, database_url: str, **settings: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        self.process = None
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("COLLAB_")}
        self.env.update(COLLAB_DATA_DIR=str(data_dir), COLLAB_DATABASE_URL=database_url, **settings)


@pytest.fixture
def monitor_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    # One connection fires the alert: the page's own socket is enough.
    server = PageServer(tmp_path, database_url, COLLAB_ALLOW_GUESTS="1", COLLAB_ALERT_CONNECTIONS="1")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
