"""The board pages in Chromium: the real server on the test's own database (SQLite and PostgreSQL).

A package of its own: Playwright's sync API runs an event loop of its own while the browser is open, so
the browser (package-scoped, see support.browser) must be closed before the async tests of tests/boards run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from support.browser import (
    PageWatch,
    browser,  # noqa: F401 - a fixture of this package
    watch,  # noqa: F401 - a fixture
)
from support.servers import ServerProcess


@pytest.fixture
def board_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    server = ServerProcess(tmp_path, database_url)
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
