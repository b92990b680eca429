"""static/editor.html in Debian's chromium: two people type at once and end with the same text, each sees
the other's cursor with a name and colour, and offline edits merge when the page goes back online."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import browser_contexts, chromium, open_connected

ROOT = Path(__file__).resolve().parents[2]

# Types `count` characters at random places through CodeMirror (what a keyboard does), one every few ms.
TYPE_AT_RANDOM = """([count, letter]) => new Promise((resolve) => {
    const { view } = window.collabEditor;
    let typed = 0;
    const timer = setInterval(() => {
        const at = Math.floor(Math.random() * (view.state.doc.length + 1));
        view.dispatch({ changes: { from: at, insert: letter } });
        if (++typed === count) { clearInterval(timer); resolve(); }
    }, 4);
})"""


def text(page: Page) -> str:
    return page.evaluate("window.collabEditor.text.toString()")


def wait_same_text(pages: list[Page], seconds: float = 15.0) -> str:
    """Both pages' Y.Text and editor content are equal (their own checks, polled with a deadline)."""
    deadline = time.monotonic() + seconds
    while True:
        texts = {text(page) for page in pages} | {
            page.evaluate("window.collabEditor.view.state.doc.toString()") for page in pages
        }
        if len(texts) == 1:
            return texts.pop()
        if time.monotonic() > deadline:
            raise AssertionError(f"the pages did not converge: {texts}")
        pages[0].wait_for_timeout(50)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, for this module only: Playwright's sync API keeps an event loop running in
    this thread while it is open, and the asyncio tests of the other modules need the thread back."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def open_editor(browser: Browser, doc_server, watch) -> Iterator[Callable[..., Page]]:
    if not (ROOT / "static" / "dist" / "editor.js").is_file():
        pytest.skip("static/dist/editor.js is missing: run `make setup`")
    with browser_contexts(browser, doc_server.url, viewport={"width": 1100, "height": 640}) as new_context:

        def open_as(nickname: str, doc: str) -> Page:
            context = new_context()
            context.add_init_script(f"localStorage.setItem('collab.nickname', {nickname!r})")
            return open_connected(context, watch, f"/static/editor.html#{doc}")

        yield open_as


@pytest.mark.browser
def test_two_people_type_at_once_and_see_each_others_cursors(open_editor, tmp_path: Path) -> None:
    doc = f"pair-{uuid.uuid4().hex[:8]}"
    alice = open_editor("Alice", doc)
    bob = open_editor("Bob", doc)
    expect(alice.locator("#people li")).to_have_count(2)
    expect(alice.locator("#people")).to_contain_text("Bob")

    # Both type at the same moment, at random places.
    alice.evaluate("args => { window.typing = (" + TYPE_AT_RANDOM + ")(args) }", [150, "a"])
    bob.evaluate(TYPE_AT_RANDOM, [150, "b"])
    alice.evaluate("window.typing")
    final = wait_same_text([alice, bob])
    assert sorted(final) == ["a"] * 150 + ["b"] * 150

    # Real keystrokes, then each sees the other's caret, labelled with the name, in the other's colour.
    alice.locator(".cm-content").click()
    alice.keyboard.press("Control+End")
    alice.keyboard.type(" -- Alice was here")
    bob.locator(".cm-content").click()
    bob.keyboard.press("Control+Home")
    bob.keyboard.type("Bob: ")
    final = wait_same_text([alice, bob])
    assert final.startswith("Bob: ") and final.endswith(" -- Alice was here")
    caret = alice.locator(".cm-ySelectionCaret")
    expect(caret).to_have_count(1)
    expect(caret.locator(".cm-ySelectionInfo")).to_have_text("Bob")
    expect(bob.locator(".cm-ySelectionInfo")).to_have_text("Alice")
    bob_colour = bob.evaluate("window.collabEditor.provider.awareness.getLocalState().user.color")
    assert bob_colour.lower() in (caret.get_attribute("style") or "").lower()
    alice.screenshot(path=str(tmp_path / "editor.png"))

    # When Bob leaves, his caret and his name go away at Alice's.
    bob.context.close()
    expect(alice.locator(".cm-ySelectionCaret")).to_have_count(0)
    expect(alice.locator("#people li")).to_have_count(1)


@pytest.mark.browser
def test_offline_edits_merge_when_the_page_is_back_online(open_editor) -> None:
    doc = f"trip-{uuid.uuid4().hex[:8]}"
    alice = open_editor("Alice", doc)
    bob = open_editor("Bob", doc)
    alice.locator(".cm-content").click()
    alice.keyboard.type("shared line\n")
    wait_same_text([alice, bob])

    bob.locator("#offline-toggle").click()
    expect(bob.locator("#conn")).to_have_attribute("data-state", "offline")
    expect(alice.locator("#people li")).to_have_count(1)
    bob.locator(".cm-content").click()
    bob.keyboard.press("Control+End")
    bob.keyboard.type("written on the train\n")
    alice.keyboard.press("Control+Home")
    alice.keyboard.type("meanwhile in the office\n")
    assert "train" not in text(alice) and "office" not in text(bob)

    bob.locator("#offline-toggle").click()
    expect(bob.locator("#conn")).to_have_attribute("data-state", "open")
    final = wait_same_text([alice, bob])
    for part in ("shared line", "written on the train", "meanwhile in the office"):
        assert part in final


@pytest.mark.browser
def test_the_editor_says_offline_when_the_browser_loses_the_network(open_editor, tmp_path: Path) -> None:
    """The browser going offline (no close on the socket yet) is shown at once, not "Live"; the edits
    made meanwhile merge when the network is back."""
    doc = f"tunnel-{uuid.uuid4().hex[:8]}"
    alice = open_editor("Alice", doc)
    bob = open_editor("Bob", doc)
    expect(bob.locator("#conn")).to_have_attribute("data-state", "open")

    bob.context.set_offline(True)
    expect(bob.locator("#conn")).to_have_attribute("data-state", "offline")
    expect(bob.locator("#conn-label")).to_have_text("No network")
    expect(bob.locator("#conn")).to_have_attribute("title", re.compile("edits are kept"))
    bob.screenshot(path=str(tmp_path / "editor-offline.png"))
    bob.locator(".cm-content").click()
    bob.keyboard.type("typed in the tunnel\n")
    alice.locator(".cm-content").click()
    alice.keyboard.type("typed at the desk\n")
    bob.wait_for_timeout(300)
    assert "tunnel" not in text(alice)

    bob.context.set_offline(False)
    expect(bob.locator("#conn")).to_have_attribute("data-state", "open")
    expect(bob.locator("#offline-toggle")).to_have_text("Work offline")
    final = wait_same_text([alice, bob])
    assert "typed in the tunnel" in final and "typed at the desk" in final
