"""Fixtures for the folders of page tests (tests/*/pages): `collab serve` on the test's own database and
pages opened in it as new users.

A folder imports them into its conftest next to the browser's (`from support.pages import open_as,
page_server`) and names its page and what the page shows once ready in a fixture of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from support.browser import PageWatch, browser_contexts, open_connected
from support.servers import serving

OpenAs = Callable[[str, str, Callable[[Page], None], ViewportSize], Page]


@pytest.fixture
def page_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The URL of `collab serve` on the test's database (SQLite and PostgreSQL)."""
    with serving(tmp_path, database_url) as server:
        yield server.url


@pytest.fixture
def open_as(browser: Browser, page_server: str, watch: PageWatch) -> Iterator[OpenAs]:
    """`open_as(path, nickname, ready, viewport)`: `path` as a new user (a browser context of its own,
    `viewport` large) who answered the nickname prompt, connected, once `ready(page)` passed."""
    with browser_contexts(browser, page_server) as new_context:

        def open_(path: str, nickname: str, ready: Callable[[Page], None], viewport: ViewportSize) -> Page:
            return open_connected(new_context(viewport=viewport), watch, path, nickname, ready)

        yield open_
