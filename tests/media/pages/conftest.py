"""The media page in Chromium: `collab serve` on the test's own database (SQLite and PostgreSQL). A package
of its own, for the browser's scope (see support.browser)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from support.browser import browser, watch  # noqa: F401 - fixtures (the browser is this package's)
from support.pages import OpenAs, open_as, page_server  # noqa: F401 - fixtures


@pytest.fixture
def open_media(open_as: OpenAs) -> Callable[[str], Page]:  # noqa: F811 - the fixture imported above
    """`open_media(nickname)`: the media page as a new user (a browser context of its own), connected."""
    return lambda nickname: open_as("/static/media.html", nickname, gallery_shown, {"width": 1200, "height": 800})


def gallery_shown(page: Page) -> None:
    expect(page.locator("#gallery")).to_have_attribute("aria-busy", "false")
