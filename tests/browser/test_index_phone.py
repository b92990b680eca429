"""The index page on a phone (390x844, touch): nothing wider than the screen (a board's name of 120
characters without a space included), the pages and the boards (`GET /api/catalog`) are links a fingertip
tall that open what they name, and "Create" opens a new board (a drawing drawn on by touch is listed next
time, first) or a new document. On a desktop a board's row keeps its name and age on one line."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from support.auth import token
from support.browser import PageWatch, browser_contexts
from support.phone import (
    DESKTOP,
    PHONE,
    assert_finger_sized,
    assert_no_sideways_scroll,
    assert_on_screen,
    shot,
    touch_drag,
)


def publish(server: str, channels: list[str]) -> None:
    """An event in each channel, by a backend (the publish API, docs/server-api.md): the boards exist."""
    body = json.dumps({"channels": channels, "event": "seeded", "data": None}).encode()
    headers = {"Authorization": f"Bearer {token('seeder', roles=['service'])}", "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(f"{server}/api/events", body, headers), timeout=10) as answer:
        assert answer.status == 201


@pytest.fixture
def open_index(browser: Browser, server: str, watch: PageWatch) -> Iterator[Callable[..., Page]]:
    """`open_index(**options)`: the index page as a new visitor, on a phone unless `options` say otherwise,
    once its lists are filled."""
    with browser_contexts(browser, server) as new_context:

        def open_(**options) -> Page:
            page = watch.attach(new_context(**(options or PHONE)).new_page())
            page.goto("/")
            expect(page.locator("#boards li").first).to_be_visible()
            return page

        yield open_


def row(page: Page, name: str) -> Locator:
    return page.locator("#boards a", has=page.locator(".catalog-name", has_text=name))


@pytest.mark.browser
def test_on_a_phone_the_index_fits_and_its_links_and_forms_work(
    open_index: Callable[..., Page], server: str, tmp_path: Path
) -> None:
    prefix = uuid.uuid4().hex[:8]
    plans, long_name = f"{prefix}-plans", f"{prefix}-" + "a-board-with-a-very-long-name-" * 4
    publish(server, [f"kanban:{plans}", f"draw:{long_name}"])
    phone = open_index()
    assert_no_sideways_scroll(phone)
    assert_on_screen(phone.locator(".pages a"))
    assert_finger_sized(phone.locator(".pages a"))
    # Both boards listed, newest first, each row inside the screen; the long name wraps, whole.
    for name, kind in ((long_name, "Drawing"), (plans, "Kanban")):
        expect(row(phone, name)).to_contain_text(kind)
    rows = row(phone, prefix)
    assert_on_screen(rows)
    assert_finger_sized(rows)
    name = row(phone, long_name).locator(".catalog-name")
    assert name.evaluate(
        "node => node.scrollWidth <= node.clientWidth"
        " && node.clientHeight >= 2 * parseFloat(getComputedStyle(node).lineHeight)"
    ), "the long name is cut, or not wrapped"
    fields = phone.locator("#new-board-name, #new-board-kind, #new-board button, #new-doc-name, #new-doc button")
    assert_on_screen(fields)
    assert_finger_sized(fields)
    phone.locator("#boards").scroll_into_view_if_needed()
    shot(phone, tmp_path, "phone-index")
    shot(phone, tmp_path, "phone-index-full", full_page=True)

    # A board's row opens its page.
    row(phone, plans).tap()
    phone.wait_for_url(f"**/static/kanban.html#{plans}")
    phone.locator("#nick-input").fill("pat")  # a first visit: the board asks who draws
    phone.locator("#nick-submit").tap()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "open")
    phone.go_back()
    expect(row(phone, plans)).to_be_visible()

    # "Create": a name a board cannot have is refused on the spot; a good one opens the new drawing.
    phone.locator("#new-board-name").fill("no spaces please")
    phone.locator("#new-board button").tap()
    expect(phone.locator("#new-board-error")).to_contain_text("no spaces")
    sketch = f"{prefix}-sketch"
    phone.locator("#new-board-name").fill(sketch)
    phone.locator("#new-board-kind").select_option("drawing")
    phone.locator("#new-board button").tap()
    phone.wait_for_url(f"**/static/drawing.html#{sketch}")
    expect(phone.locator("#overlay")).to_have_attribute("data-seq", "0")
    board = phone.locator("#overlay").bounding_box()
    assert board is not None
    touch_drag(phone, [(board["x"] + 30 + 12 * i, board["y"] + board["height"] / 2) for i in range(12)], hold_ms=0)
    expect(phone.locator("#overlay")).to_have_attribute("data-strokes", "1")
    phone.goto("/")
    expect(phone.locator("#boards a").first).to_contain_text(sketch)
    expect(row(phone, sketch)).to_contain_text("Drawing")

    # A new document: its page opens under the name given.
    phone.locator("#new-doc-name").fill(f"{prefix}-notes")
    phone.locator("#new-doc button").tap()
    phone.wait_for_url(f"**/static/editor.html#{prefix}-notes")


@pytest.mark.browser
def test_on_a_desktop_a_board_row_is_one_line(open_index: Callable[..., Page], server: str, tmp_path: Path) -> None:
    plans = f"{uuid.uuid4().hex[:8]}-plans"
    publish(server, [f"kanban:{plans}"])
    desk = open_index(**DESKTOP)
    listed = row(desk, plans)
    expect(listed).to_contain_text("Kanban")
    name, meta = listed.locator(".catalog-name").bounding_box(), listed.locator(".muted").bounding_box()
    assert name is not None and meta is not None
    assert abs(name["y"] + name["height"] - meta["y"] - meta["height"]) < 4, (name, meta)  # side by side
    assert meta["x"] > name["x"] + name["width"], (name, meta)
    assert_no_sideways_scroll(desk)
    shot(desk, tmp_path, "desktop-index", full_page=True)
