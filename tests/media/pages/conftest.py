"""The media page in Chromium: `collab serve` on the test's own database (SQLite and PostgreSQL). A package
of its own, for the browser's scope (see support.browser)."""

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
def media_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    with serving(tmp_path, database_url) as server:
        yield server.url


def gallery_shown(page: Page) -> None:
    expect(page.locator("#gallery")).to_have_attribute("aria-busy", "false")


@pytest.fixture
def open_media(
    browser: Browser,  # noqa: F811 - the fixture imported above
    media_server: str,
    watch: PageWatch,  # noqa: F811 - the fixture imported above
) -> Iterator[Callable[[str], Page]]:
    """`open_media(nickname)`: the media page as a new user (a browser context of its own), connected."""
    with browser_contexts(browser, media_server, viewport={"width": 1200, "height": 800}) as new_context:
        yield lambda nickname: open_connected(new_context(), watch, "/static/media.html", nickname, gallery_shown)
