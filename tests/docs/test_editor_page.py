"""static/editor.html as a product, in Debian's chromium: one guest id per person across connections,
offline edits that survive closing the tab (IndexedDB), a title and a Markdown preview that shares no raw
HTML, and the history panel: a slider over the versions, a read-only view, "Restore this version"."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import browser_contexts, chromium, open_connected, wait_for

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path("/tmp/h12-editor-shots")


def text(page: Page) -> str:
    return page.evaluate("window.collabEditor.text.toString()")


def wait_text(page: Page, wanted: str) -> None:
    wait_for(page, "wanted => window.collabEditor.text.toString() === wanted", arg=wanted, timeout=15_000)


def versions(page: Page, name: str) -> list[dict]:
    """The document's stored updates, read as the page reads them (its own token)."""
    return page.evaluate(
        """async (name) => {
            const token = localStorage.getItem('collab.token');
            const answer = await fetch(`/api/docs/${name}/versions`, {headers: {Authorization: `Bearer ${token}`}});
            return (await answer.json()).versions;
        }""",
        name,
    )


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def open_editor(browser: Browser, doc_server, watch) -> Iterator[Callable[..., Page]]:
    if not (ROOT / "static" / "dist" / "editor.js").is_file():
        pytest.skip("static/dist/editor.js is missing: run `make setup`")
    with browser_contexts(browser, doc_server.url) as new_context:

        def open_as(nickname: str, doc: str, **options) -> Page:
            context = new_context(**{"viewport": {"width": 1100, "height": 700}, **options})
            context.add_init_script(
                f"if (!localStorage.getItem('collab.nickname')) localStorage.setItem('collab.nickname', {nickname!r})"
            )
            return open_connected(context, watch, f"/static/editor.html#{doc}")

        open_as.watch = watch  # type: ignore[attr-defined]
        yield open_as


def type_at_end(page: Page, words: str) -> None:
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(words)


@pytest.mark.browser
def test_a_guest_keeps_one_id_across_connections_and_visits(open_editor) -> None:
    doc = f"ids-{uuid.uuid4().hex[:8]}"
    alice = open_editor("Alice", doc)
    type_at_end(alice, "first visit\n")
    wait_for(alice, "n => window.collabEditor.provider.synced", arg=None)
    alice.locator("#offline-toggle").click()  # a new connection...
    expect(alice.locator("#offline-toggle")).to_have_text("Work online")
    alice.locator("#offline-toggle").click()
    expect(alice.locator("#conn")).to_have_attribute("data-state", "open")
    type_at_end(alice, "second connection\n")
    alice.reload()  # ...and a new visit
    expect(alice.locator("#conn")).to_have_attribute("data-state", "open")
    type_at_end(alice, "second visit\n")
    alice.wait_for_function("() => window.collabEditor.provider.synced")
    bob = open_editor("Bob", doc)
    wait_text(bob, text(alice))
    stored = versions(bob, doc)
    ids = {version["user_id"] for version in stored}
    assert len(ids) == 1 and ids.pop().startswith("guest-"), stored
    assert {version["nickname"] for version in stored} == {"Alice"}
    assert "first visit" in text(bob) and "second visit" in text(bob)


@pytest.mark.browser
def test_offline_edits_survive_closing_the_tab(open_editor) -> None:
    doc = f"train-{uuid.uuid4().hex[:8]}"
    alice = open_editor("Alice", doc)
    bob = open_editor("Bob", doc)
    type_at_end(alice, "shared line\n")
    wait_text(bob, "shared line\n")

    bob.locator("#offline-toggle").click()
    expect(bob.locator("#conn")).to_have_attribute("data-state", "offline")
    type_at_end(bob, "written in a tunnel\n")
    # y-indexeddb writes each update; wait until this one is in the browser's database.
    bob.wait_for_function(
        """() => new Promise((resolve) => {
            const open = indexedDB.open(window.collabEditor.persistence.name);
            open.onsuccess = () => {
                const read = open.result.transaction('updates').objectStore('updates').count();
                read.onsuccess = () => { open.result.close(); resolve(read.result >= 2); };
            };
        })"""
    )
    context = bob.context
    bob.close()  # the tab is gone, its edits never reached the server
    assert "tunnel" not in text(alice)

    again = open_connected(context, open_editor.watch, f"/static/editor.html#{doc}")
    assert "written in a tunnel" in text(again)
    wait_text(alice, text(again))
    final = text(alice)
    assert final.count("written in a tunnel") == 1 and final.count("shared line") == 1
    # Exactly once: another visit adds nothing.
    again.reload()
    expect(again.locator("#conn")).to_have_attribute("data-state", "open")
    again.wait_for_timeout(500)
    assert text(alice) == final == text(again)


@pytest.mark.browser
def test_title_and_markdown_preview_without_raw_html(open_editor) -> None:
    doc = f"md-{uuid.uuid4().hex[:8]}"
    alice = open_editor("Alice", doc)
    bob = open_editor("Bob", doc)
    expect(alice.locator("#offline-toggle")).to_have_text("Work offline")

    alice.locator("#doc-title").fill("Trip notes")
    expect(bob.locator("#doc-title")).to_have_value("Trip notes")
    expect(bob).to_have_title("Trip notes · editor · collab")
    bob.locator("#doc-title").press("End")
    bob.locator("#doc-title").type(" 2026")
    expect(alice.locator("#doc-title")).to_have_value("Trip notes 2026")

    type_at_end(
        alice,
        "# Packing\n\n- **boots** and a [map](https://example.org)\n- [bad](javascript:alert(1))\n\n"
        '<script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2">\n',
    )
    preview = bob.locator("#preview")
    expect(preview.locator("h1")).to_have_text("Packing")
    expect(preview.locator("strong")).to_have_text("boots")
    link = preview.locator("a[href='https://example.org']")
    expect(link).to_have_text("map")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(preview.locator("script, img")).to_have_count(0)
    expect(preview).to_contain_text("<script>window.pwned = 1</script>")
    assert preview.locator("a", has_text="bad").count() == 0  # javascript: links stay text
    assert bob.evaluate("window.pwned") is None
    shot(bob, "editor-split")

    bob.locator(".view-switch button", has_text="Preview").click()
    expect(bob.locator("#editor")).to_be_hidden()
    expect(preview).to_be_visible()
    bob.locator(".view-switch button", has_text="Write").click()
    expect(preview).to_be_hidden()


@pytest.mark.browser
def test_editor_on_a_phone(open_editor) -> None:
    doc = f"phone-{uuid.uuid4().hex[:8]}"
    phone = open_editor("Pat", doc, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    expect(phone.locator(".view-switch button[aria-pressed='true']")).to_have_text("Write")
    phone.locator("#doc-title").fill("On the go")
    type_at_end(phone, "## Phone\n\n*typed* here\n")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    shot(phone, "phone-write")
    phone.locator(".view-switch button", has_text="Preview").tap()
    expect(phone.locator("#preview h2")).to_have_text("Phone")
    shot(phone, "phone-preview")
    phone.locator("#history-open").tap()
    expect(phone.locator("#history-meta")).to_contain_text("Pat")
    box = phone.locator("#history").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(phone, "phone-history")


@pytest.mark.browser
def test_history_slider_read_only_versions_and_restore(open_editor) -> None:
    doc = f"hist-{uuid.uuid4().hex[:8]}"
    alice = open_editor("Alice", doc)
    bob = open_editor("Bob", doc)
    alice.locator("#doc-title").fill("Plan")
    type_at_end(alice, "Plan A: walk\n")
    wait_text(bob, "Plan A: walk\n")
    type_at_end(bob, "Plan B: bike\n")
    wait_text(alice, "Plan A: walk\nPlan B: bike\n")
    alice.locator(".cm-content").click()
    alice.keyboard.press("Control+a")
    alice.keyboard.type("Cancelled\n")
    wait_text(bob, "Cancelled\n")

    bob.locator("#history-open").click()
    expect(bob.locator("#history-meta")).to_contain_text("Version 3 of 3 · Alice")
    expect(bob.locator("#history-text")).to_have_text("Cancelled\n")
    expect(bob.locator("#history-restore")).to_be_disabled()  # the latest: nothing to restore
    slider = bob.locator("#history-slider")
    slider.fill("1")
    expect(bob.locator("#history-meta")).to_contain_text("Version 2 of 3 · Bob")
    expect(bob.locator("#history-diff ins")).to_have_text("Plan B: bike\n")
    expect(bob.locator("#history-text")).to_have_text("Plan A: walk\nPlan B: bike\n")
    expect(bob.locator("#history-title")).to_have_text("Plan")
    shot(bob, "history")
    assert text(bob) == "Cancelled\n"  # looking changes nothing

    bob.locator("#history-restore").click()
    expect(bob.locator("#history")).to_be_hidden()
    wait_text(alice, "Plan A: walk\nPlan B: bike\n")
    wait_text(bob, "Plan A: walk\nPlan B: bike\n")
    # The restore is an edit of its own, by Bob, in the history.
    bob.wait_for_function(
        """async (name) => {
            const token = localStorage.getItem('collab.token');
            const a = await fetch(`/api/docs/${name}/versions`, {headers: {Authorization: `Bearer ${token}`}});
            const list = (await a.json()).versions;
            return list[list.length - 1].nickname === 'Bob' && list.length >= 5;
        }""",
        arg=doc,
    )
    alice.locator("#history-open").click()
    expect(alice.locator("#history-meta")).to_contain_text("Version 4 of 4 · Bob")
    expect(alice.locator("#history-diff ins")).to_have_text("Plan A: walk\nPlan B: bike")
    shot(alice, "history-after-restore")
