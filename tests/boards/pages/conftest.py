"""The board pages in Chromium: the real server on the test's own database (SQLite and PostgreSQL), and
tests/browser's chromium and page watch.

A package of its own: Playwright's sync API runs an event loop of its own while the browser is open, so
the browser (package-scoped) must be closed before the async tests of tests/boards run."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser.conftest import (  # tests/browser's fixtures and server, shared
    PageWatch,
    ServerProcess,
    browser,  # noqa: F401 - a fixture
    free_port,
    watch,  # noqa: F401 - a fixture
)
from playwright.sync_api import Browser, BrowserContext, Page, expect


class BoardServer(ServerProcess):
    """`collab serve` on the test's own (already migrated) database, SQLite or PostgreSQL."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        self.process = None
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("COLLAB_")}
        self.env.update(COLLAB_DATA_DIR=str(data_dir), COLLAB_ALLOW_GUESTS="1", COLLAB_DATABASE_URL=database_url)


@pytest.fixture
def board_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    server = BoardServer(tmp_path, database_url)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def open_page(
    browser: Browser,  # noqa: F811 - the fixture imported above
    board_server: str,
    watch: PageWatch,  # noqa: F811 - the fixture imported above
) -> Iterator[Callable[[str, str], Page]]:
    """`open_page(path, nickname)`: the page as a new user (its own browser context), connected and
    showing its board."""
    contexts: list[BrowserContext] = []

    def open_(path: str, nickname: str) -> Page:
        context = browser.new_context(base_url=board_server, viewport={"width": 1200, "height": 760})
        contexts.append(context)
        page = watch.attach(context.new_page())
        page.goto(path)
        page.locator("#nick-input").fill(nickname)
        page.locator("#nick-submit").click()
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        expect(page.locator("#board[aria-busy=false], #overlay[data-seq]")).to_have_count(1)
        return page

    yield open_
    for context in contexts:
        context.close()
