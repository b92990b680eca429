"""The board pages in Chromium: the real server on the test's own database (SQLite and PostgreSQL).

A package of its own: Playwright's sync API runs an event loop of its own while the browser is open, so
the browser (package-scoped, see support.browser) must be closed before the async tests of tests/boards run."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import (
    PageWatch,
    browser,  # noqa: F401 - a fixture (the browser is this package's)
    browser_contexts,
    open_connected,
    watch,  # noqa: F401 - a fixture
)
from support.pages import OpenAs, open_as, page_server  # noqa: F401 - fixtures
from support.phone import PHONE


def board_shown(page: Page) -> None:
    expect(page.locator("#board[aria-busy=false], #overlay[data-seq]")).to_have_count(1)


@pytest.fixture
def open_page(open_as: OpenAs) -> Callable[[str, str], Page]:  # noqa: F811 - the fixture imported above
    """`open_page(path, nickname)`: the page as a new user (its own browser context), connected and
    showing its board."""
    return lambda path, nickname: open_as(path, nickname, board_shown, {"width": 1200, "height": 760})


@pytest.fixture
def open_phone(
    browser: Browser,  # noqa: F811 - the fixture imported above
    page_server: str,  # noqa: F811
    watch: PageWatch,  # noqa: F811
) -> Iterator[Callable[[str, str], Page]]:
    """`open_phone(path, nickname)`: the page as a new user on a touch phone (390x844), connected and
    showing its board."""
    with browser_contexts(browser, page_server, **PHONE) as new_context:
        yield lambda path, nickname: open_connected(new_context(), watch, path, nickname, board_shown)
