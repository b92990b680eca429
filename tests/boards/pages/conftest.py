"""The board pages in Chromium: the real server on the test's own database (SQLite and PostgreSQL).

A package of its own: Playwright's sync API runs an event loop of its own while the browser is open, so
the browser (package-scoped, see support.browser) must be closed before the async tests of tests/boards run."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from support.browser import browser, watch  # noqa: F401 - fixtures (the browser is this package's)
from support.pages import OpenAs, open_as, page_server  # noqa: F401 - fixtures


def board_shown(page: Page) -> None:
    expect(page.locator("#board[aria-busy=false], #overlay[data-seq]")).to_have_count(1)


@pytest.fixture
def open_page(open_as: OpenAs) -> Callable[[str, str], Page]:  # noqa: F811 - the fixture imported above
    """`open_page(path, nickname)`: the page as a new user (its own browser context), connected and
    showing its board."""
    return lambda path, nickname: open_as(path, nickname, board_shown, {"width": 1200, "height": 760})
