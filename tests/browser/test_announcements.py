"""Announcements: what a backend broadcasts (`POST /api/broadcast`) shows on every page that holds a `/ws`
socket, as text, in a banner under the top bar that the user dismisses."""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from support.auth import token
from support.browser import PageWatch, browser_contexts, open_connected

SHOTS = Path(os.environ.get("COLLAB_SHOTS", "/tmp/shots-dms"))
HOSTILE = '<img src=x onerror="alert(1)"> <b>maintenance</b> at 22:00'
DESKTOP = {"viewport": {"width": 1200, "height": 760}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def broadcast(server: str, data: object, event: str = "announcement") -> dict:
    """`POST /api/broadcast` as a backend (a service token): the stored event."""
    request = urllib.request.Request(
        f"{server}/api/broadcast",
        data=json.dumps({"event": event, "data": data, "id": uuid.uuid4().hex}).encode(),
        headers={
            "Authorization": f"Bearer {token('ops', name='Ops', roles=['service'])}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201
        return json.loads(answer.read())


def board_shown(page: Page) -> None:
    expect(page.locator("#board[aria-busy=false], #overlay[data-seq]")).to_have_count(1)


def gallery_shown(page: Page) -> None:
    expect(page.locator("#gallery")).to_have_attribute("aria-busy", "false")


# Every page that holds a /ws socket: its path, whether it asks for a nickname, what it shows once ready.
PAGES: dict[str, tuple[str, bool, Callable[[Page], None] | None]] = {
    "chat": ("/static/chat.html#announcements", True, None),
    "kanban": ("/static/kanban.html#announcements", True, board_shown),
    "drawing": ("/static/drawing.html#announcements", True, board_shown),
    "media": ("/static/media.html", True, gallery_shown),
    "monitor": ("/static/monitor.html", False, None),
}


@pytest.fixture
def open_page(browser: Browser, server: str, watch: PageWatch):
    """`open_page(name, device)`: a page of `PAGES` as a new user, connected."""
    with browser_contexts(browser, server) as new_context:

        def open_(name: str, device: dict) -> Page:
            path, asks, ready = PAGES[name]
            return open_connected(new_context(**device), watch, path, "ann" if asks else None, ready)

        yield open_


def banner_texts(page: Page):
    return page.locator("#announcements .announcement-text")


@pytest.mark.browser
def test_every_page_shows_a_broadcast_as_text(open_page, server: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = {name: open_page(name, DESKTOP) for name in PAGES}
    stored = broadcast(server, {"text": HOSTILE})
    assert stored["channel"] == "broadcast:all"
    for name, page in pages.items():
        banner = page.locator("#announcements")
        expect(banner_texts(page)).to_have_text([HOSTILE])
        expect(banner).to_have_attribute("role", "status")
        expect(banner.locator("img, b")).to_have_count(0)  # text, never markup
        # Under the top bar, above the page's own content.
        top = page.locator("body > .topbar").bounding_box()
        box = banner.bounding_box()
        assert top is not None and box is not None and abs(box["y"] - (top["y"] + top["height"])) < 2, name
        page.screenshot(path=str(SHOTS / f"announcement-{name}-desktop.png"))

    # Dismissed on one page, it stays on the others.
    chat = pages["chat"]
    chat.get_by_role("button", name="Dismiss announcement").click()
    expect(chat.locator("#announcements .announcement")).to_have_count(0)
    expect(chat.locator("#announcements")).to_be_hidden()
    expect(banner_texts(pages["kanban"])).to_have_count(1)


@pytest.mark.browser
def test_announcements_stack_are_clipped_and_fit_a_phone(open_page, server: str) -> None:
    chat, kanban, drawing = open_page("chat", PHONE), open_page("kanban", PHONE), open_page("drawing", PHONE)
    broadcast(server, {"message": "the first"})
    broadcast(server, "a plain string")
    broadcast(server, {"text": "word " * 200})
    for page in (chat, kanban, drawing):
        texts = banner_texts(page)
        expect(texts).to_have_count(3)
        expect(texts.nth(1)).to_have_text("a plain string")
        expect(texts.nth(2)).to_have_text("the first")
        long = texts.nth(0).text_content() or ""
        assert long.endswith("…") and len(long) == 280, long
    chat.screenshot(path=str(SHOTS / "announcement-chat-phone.png"))
    kanban.screenshot(path=str(SHOTS / "announcement-kanban-phone.png"))
    drawing.screenshot(path=str(SHOTS / "announcement-drawing-phone.png"))
    # Nothing sticks out on a phone; the drawing board fits what the banner leaves it.
    for page in (chat, kanban, drawing):
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    stage = drawing.locator(".stage").bounding_box()
    assert stage is not None and stage["y"] + stage["height"] <= 844, stage

    # A fourth pushes the oldest out; data without text is shown compactly, no data by the event's name.
    broadcast(server, {"level": 2, "until": "22:00"})
    expect(banner_texts(chat)).to_have_count(3)
    expect(banner_texts(chat).first).to_have_text('{"level":2,"until":"22:00"}')
    broadcast(server, None, event="restart")
    expect(banner_texts(chat).first).to_have_text("restart")
    expect(banner_texts(chat).nth(1)).to_have_text('{"level":2,"until":"22:00"}')
    kanban.get_by_role("button", name="Dismiss announcement").first.tap()
    expect(banner_texts(kanban)).to_have_count(2)
