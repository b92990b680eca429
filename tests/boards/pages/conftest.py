"""The board pages in Chromium: the real server on the test's own database (SQLite and PostgreSQL).

A package of its own: Playwright's sync API runs an event loop of its own while the browser is open, so
the browser (package-scoped, see support.browser) must be closed before the async tests of tests/boards run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import (
    PageWatch,
    browser,  # noqa: F401 - a fixture of this package
    browser_contexts,
    open_connected,
    watch,  # noqa: F401 - a fixture
)
from support.servers import serving


@pytest.fixture
def board_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    with serving(tmp_path, database_url) as server:
        yield server.url


def board_shown(page: Page) -> None:
    expect(page.locator("#board[aria-busy=false], #overlay[data-seq]")).to_have_count(1)


@pytest.fixture
def open_page(
    browser: Browser,  # noqa: F811 - the fixture imported above
    board_server: str,
    watch: PageWatch,  # noqa: F811 - the fixture imported above
) -> Iterator[Callable[[str, str], Page]]:
    """`open_page(path, nickname)`: the page as a new user (its own browser context), connected and
    showing its board."""
    with browser_contexts(browser, board_server, viewport={"width": 1200, "height": 760}) as new_context:
        yield lambda path, nickname: open_connected(new_context(), watch, path, nickname, board_shown)
