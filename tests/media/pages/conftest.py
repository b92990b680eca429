"""The media page in Chromium: `collab serve` on the test's own database (SQLite and PostgreSQL). A package
of its own, for the browser's scope (see support.browser)."""

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

MEDIA = "/static/media.html"


@pytest.fixture
def open_media(open_as: OpenAs) -> Callable[[str], Page]:  # noqa: F811 - the fixture imported above
    """`open_media(nickname)`: the media page as a new user (a browser context of its own), connected."""
    return lambda nickname: open_as(MEDIA, nickname, gallery_shown, {"width": 1200, "height": 800})


@pytest.fixture
def open_media_phone(
    browser: Browser,  # noqa: F811 - the fixture imported above
    page_server: str,  # noqa: F811
    watch: PageWatch,  # noqa: F811
) -> Iterator[Callable[[str], Page]]:
    """`open_media_phone(nickname)`: the media page as a new user on a touch phone (390x844), connected."""
    with browser_contexts(browser, page_server, **PHONE) as new_context:
        yield lambda nickname: open_connected(new_context(), watch, MEDIA, nickname, gallery_shown)


def gallery_shown(page: Page) -> None:
    expect(page.locator("#gallery")).to_have_attribute("aria-busy", "false")
