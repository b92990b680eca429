"""The media page in Chromium: `collab serve` on the test's own database (SQLite and PostgreSQL). A package
of its own, for the browser's scope (see support.browser)."""

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
def media_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    server = ServerProcess(tmp_path, database_url)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def open_media(
    browser: Browser,  # noqa: F811 - the fixture imported above
    media_server: str,
    watch: PageWatch,  # noqa: F811 - the fixture imported above
) -> Iterator[Callable[[str], Page]]:
    """`open_media(nickname)`: the media page as a new user (a browser context of its own), connected."""
    contexts: list[BrowserContext] = []

    def open_(nickname: str) -> Page:
        context = browser.new_context(base_url=media_server, viewport={"width": 1200, "height": 800})
        contexts.append(context)
        page = watch.attach(context.new_page())
        page.goto("/static/media.html")
        page.locator("#nick-input").fill(nickname)
        page.locator("#nick-submit").click()
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        expect(page.locator("#gallery")).to_have_attribute("aria-busy", "false")
        return page

    yield open_
    for context in contexts:
        context.close()
