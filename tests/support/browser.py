"""Debian's chromium driven by Playwright's sync API, and a watch for what goes wrong in pages.

The sync API is used from plain `def` tests: it runs its own event loop, which must not be nested in
pytest-asyncio's (none runs around a sync test). For the same reason `browser` is package-scoped and
each folder of page tests is a package that imports it into its conftest (`from support.browser
import browser, watch`): the browser closes when the package's tests are done, before the async
tests next to it run. (Registered globally, a package-scoped fixture would live for the session.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# A reconnect waits for a backoff delay (up to a few seconds): wait for that, not the default 5 s.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's chromium (never a downloaded one)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class PageWatch:
    """What went wrong in a page: uncaught exceptions and dialogs (`alert(1)` from injected markup)."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.errors.append(str(error)))

        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return page


@pytest.fixture
def watch() -> Iterator[PageWatch]:
    """Attach pages to it: the test fails if any of them threw or opened a dialog."""
    watched = PageWatch()
    yield watched
    assert not watched.errors, f"uncaught errors in the page: {watched.errors}"
    assert not watched.dialogs, f"the page opened dialogs: {watched.dialogs}"
