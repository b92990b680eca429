"""Debian's chromium driven by Playwright's sync API, and a watch for what goes wrong in pages.

The sync API is used from plain `def` tests: it runs its own event loop, which must not be nested in
pytest-asyncio's (none runs around a sync test). For the same reason `browser` is package-scoped and
each folder of page tests is a package that imports it into its conftest (`from support.browser
import browser, watch`): the browser closes when the package's tests are done, before the async
tests next to it run. (Registered globally, a package-scoped fixture would live for the session.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, expect, sync_playwright

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


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium (never a downloaded one), closed with the block; skips the test without it."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's chromium, for the package's tests."""
    with chromium() as launched:
        yield launched


def wait_for(page: Page, expression: str, *, arg: Any = None, timeout: float = 30_000) -> Any:
    """`page.wait_for_function` for pages under the server's Content-Security-Policy: Playwright's own
    compiles the predicate with `eval` inside the page, which the policy (no `'unsafe-eval'`) refuses,
    while `page.evaluate` goes through the DevTools protocol, which the policy does not govern. Polls
    `expression` (with `arg`) every 50 ms until it is truthy, for at most `timeout` ms; its value."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout:g} ms: {expression[:120]}")
        page.wait_for_timeout(50)


@dataclass
class PageWatch:
    """What went wrong in a page: uncaught exceptions, dialogs (`alert(1)` from injected markup), and
    anything the server's Content-Security-Policy blocked (a page that needs more than the policy allows)."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.errors.append(str(error)))

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                self.blocked.append(message.text)

        page.on("console", on_console)

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
    assert not watched.blocked, f"the Content-Security-Policy blocked: {watched.blocked}"


@contextmanager
def browser_contexts(browser: Browser, base_url: str, **options: Any) -> Iterator[Callable[..., BrowserContext]]:
    """Makes browser contexts on `base_url` (or the `base_url` given to the maker), each one a user of its
    own (its own localStorage, so its own guest); `options` (and the maker's) go to `new_context`. All
    closed with the block."""
    contexts: list[BrowserContext] = []

    def make(other_url: str | None = None, **more: Any) -> BrowserContext:
        context = browser.new_context(base_url=other_url or base_url, **options, **more)
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


def open_connected(
    context: BrowserContext,
    watch: PageWatch,
    path: str,
    nickname: str | None = None,
    ready: Callable[[Page], None] | None = None,
) -> Page:
    """Opens `path` in a new watched page of `context`, answers the nickname prompt with `nickname` (none:
    the page asks for none, or the name is stored already) and waits until `#conn` is open and then
    until `ready(page)` passes (what the page shows once it has its data)."""
    page = watch.attach(context.new_page())
    page.goto(path)
    if nickname is not None:
        page.locator("#nick-input").fill(nickname)
        page.locator("#nick-submit").click()
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    if ready is not None:
        ready(page)
    return page
