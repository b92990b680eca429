"""Browser tests: the real server in a subprocess (`support.servers`), Debian's chromium driven by
Playwright's sync API (`support.browser`).

The server runs once per session (`collab migrate` then `collab serve` on a free port, in a fresh
data directory) and stops with SIGTERM at the end. The browser is launched once for this package;
every test opens its own contexts (a context is a user: its own localStorage, so its own guest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from support.browser import (
    PageWatch,
    browser,  # noqa: F401 - a fixture of this package (see support.browser)
    browser_contexts,
    open_connected,
    watch,  # noqa: F401 - a fixture
)
from support.servers import ServerProcess, serving


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a real `collab serve` on a fresh database, shared by the session's tests."""
    with serving(tmp_path_factory.mktemp("browser-server")) as process:
        yield process.url


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own, for tests that stop and restart it."""
    with serving(tmp_path) as process:
        yield process


@pytest.fixture
def new_context(
    browser: Browser,  # noqa: F811 - the fixture imported above
    server: str,
) -> Iterator[Callable[..., BrowserContext]]:
    """Makes browser contexts (each one a separate user) on the server's origin, or on `base_url`;
    closed after the test."""
    with browser_contexts(browser, server, viewport={"width": 1100, "height": 720}) as make:
        yield make


@dataclass
class ChatUser:
    context: BrowserContext
    page: Page
    nickname: str

    @property
    def messages(self) -> Locator:
        """The texts of the stored messages in view, in DOM order."""
        return self.page.locator("#messages li.msg .text")

    def send(self, text: str) -> None:
        self.page.locator("#composer-input").fill(text)
        self.page.locator("#composer-input").press("Enter")

    def expect_state(self, state: str, timeout: float | None = None) -> None:
        expect(self.page.locator("#conn")).to_have_attribute("data-state", state, timeout=timeout)


@pytest.fixture
def join_chat(
    new_context: Callable[..., BrowserContext],
    watch: PageWatch,  # noqa: F811 - the fixture imported above
) -> Callable[..., ChatUser]:
    """Opens chat.html as a new user: answers the nickname prompt and waits until connected."""

    def join(nickname: str, room: str = "general", base_url: str | None = None) -> ChatUser:
        def present(page: Page) -> None:
            expect(page.locator("#presence li.person", has_text=nickname)).to_be_visible()

        context = new_context(base_url)
        page = open_connected(context, watch, f"/static/chat.html#{room}", nickname, ready=present)
        return ChatUser(context, page, nickname)

    return join
