"""Browser tests: the real server in a subprocess, Debian's chromium driven by Playwright's sync API.

The server runs once per session (`collab migrate` then `collab serve` on a free port, in a fresh
data directory) and stops with SIGTERM at the end. The browser is launched once for this package;
every test opens its own contexts (a context is a user: its own localStorage, so its own guest).

The sync API is used from plain `def` tests: it runs its own event loop, which must not be nested in
pytest-asyncio's (none runs around a sync test).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Locator, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
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
SERVER_START_SECONDS = 30.0

# A reconnect waits for a backoff delay (up to a few seconds): wait for that, not the default 5 s.
expect.set_options(timeout=15_000)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """`collab serve` in a subprocess on a fresh data directory (migrated once); start and stop at will
    (the port and the data stay, so a restarted server is the same server to its clients)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        # Nothing from the caller's COLLAB_* settings: SQLite in `data_dir`, guests allowed.
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("COLLAB_")}
        self.env["COLLAB_DATA_DIR"] = str(data_dir)
        self.env["COLLAB_ALLOW_GUESTS"] = "1"
        migrate = subprocess.run(
            [sys.executable, "-m", "app", "migrate"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"collab migrate failed:\n{migrate.stdout}{migrate.stderr}")

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self._wait_healthy(self.process)

    def stop(self) -> None:
        """SIGTERM (the server closes its sockets with 1001), then wait for the exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _wait_healthy(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            try:
                # Waiting on the process is the pause between probes, and notices an early exit at once.
                code = process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"the server exited with {code} before answering:\n{self.log.read_text()}")
        self.stop()
        raise RuntimeError(f"no answer on /healthz within {SERVER_START_SECONDS} s:\n{self.log.read_text()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a real `collab serve` on a fresh database, shared by the session's tests."""
    process = ServerProcess(tmp_path_factory.mktemp("browser-server"))
    process.start()
    try:
        yield process.url
    finally:
        process.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own, for tests that stop and restart it."""
    process = ServerProcess(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


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


@pytest.fixture
def new_context(browser: Browser, server: str) -> Iterator[Callable[..., BrowserContext]]:
    """Makes browser contexts (each one a separate user) on the server's origin, or on `base_url`;
    closed after the test."""
    contexts: list[BrowserContext] = []

    def make(base_url: str | None = None) -> BrowserContext:
        context = browser.new_context(base_url=base_url or server, viewport={"width": 1100, "height": 720})
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


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
def join_chat(new_context: Callable[..., BrowserContext], watch: PageWatch) -> Callable[..., ChatUser]:
    """Opens chat.html as a new user: answers the nickname prompt and waits until connected."""

    def join(nickname: str, room: str = "general", base_url: str | None = None) -> ChatUser:
        context = new_context(base_url)
        page = watch.attach(context.new_page())
        page.goto(f"/static/chat.html#{room}")
        page.locator("#nick-input").fill(nickname)
        page.locator("#nick-submit").click()
        user = ChatUser(context, page, nickname)
        user.expect_state("open")
        expect(page.locator("#presence li.person", has_text=nickname)).to_be_visible()
        return user

    return join
