"""static/media.html in Chromium: an upload in one page appears in another, edits and deletes follow,
markup in a title stays text."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from support.browser import wait_for
from support.images import png

XSS = "<img src=x onerror=alert(1)>"


def upload(page: Page, name: str, content: bytes, title: str = "", tags: str = "") -> None:
    page.locator("#file").set_input_files({"name": name, "mimeType": "application/octet-stream", "buffer": content})
    page.locator("#upload-title").fill(title)
    page.locator("#upload-tags").fill(tags)
    page.locator("#upload-submit").click()
    expect(page.locator("#upload-status")).to_contain_text("Uploaded")


def card(page: Page, title: str):
    return page.locator("article.item", has=page.locator(".item-title", has_text=title))


@pytest.mark.browser
def test_an_upload_in_one_page_appears_in_another(open_media):
    alice = open_media("alice")
    bob = open_media("bob")
    expect(bob.locator("#empty")).to_be_visible()

    upload(alice, "sunset.png", png(64, 48, (230, 120, 40)), title=XSS, tags="sky, evening")
    for page in (alice, bob):
        item = page.locator("article.item")
        expect(item).to_have_count(1)
        expect(item.locator(".item-title")).to_have_text(XSS)  # text, not markup
        expect(item.locator(".tag")).to_have_text(["sky", "evening"])
        expect(item.locator(".item-meta")).to_contain_text("alice")
        expect(item.locator(".item-meta")).to_contain_text("64\u00d748")  # "64 by 48"
        # The picture itself loads (from /api/media/<id>/file, served as image/png).
        wait_for(page, "() => document.querySelector('article.item .thumb img')?.naturalWidth === 64")
        assert page.locator("article.item .item-title img").count() == 0
    # Only the uploader may change it.
    expect(alice.locator("article.item .edit")).to_have_count(1)
    expect(bob.locator("article.item .edit")).to_have_count(0)

    # Alice edits the metadata: Bob's page follows.
    alice.locator("article.item .edit").click()
    alice.locator("#edit-title").fill("Sunset over the bay")
    alice.locator("#edit-description").fill("Taken from the pier")
    alice.locator("#edit-tags").fill("sky, sea")
    alice.locator("#edit-save").click()
    for page in (alice, bob):
        expect(page.locator("article.item .item-title")).to_have_text("Sunset over the bay")
        expect(page.locator("article.item .item-description")).to_have_text("Taken from the pier")
        expect(page.locator("article.item .tag")).to_have_text(["sky", "sea"])

    # Bob uploads too; a reload of Alice's page lists both, newest first.
    upload(bob, "forest.png", png(20, 30, (40, 140, 70)), tags="green")
    expect(alice.locator("article.item .item-title")).to_have_text(["forest", "Sunset over the bay"])
    alice.reload()
    expect(alice.locator("#conn")).to_have_attribute("data-state", "open")
    expect(alice.locator("article.item .item-title")).to_have_text(["forest", "Sunset over the bay"])

    # Alice deletes hers (two clicks): gone from both pages.
    card(alice, "Sunset over the bay").locator(".edit").click()
    alice.locator("#edit-delete").click()
    expect(alice.locator("#edit-delete")).to_have_text("Really delete?")
    alice.locator("#edit-delete").click()
    for page in (alice, bob):
        expect(page.locator("article.item .item-title")).to_have_text(["forest"])


@pytest.mark.browser
def test_a_refused_upload_says_why_and_shows_nothing(open_media):
    page = open_media("carol")
    page.locator("#file").set_input_files(
        {"name": "holiday.png", "mimeType": "image/png", "buffer": b"<svg onload=alert(1)>not a png</svg>"}
    )
    page.locator("#upload-submit").click()
    expect(page.locator("#upload-error")).to_contain_text("not an accepted type")
    expect(page.locator("article.item")).to_have_count(0)


@pytest.mark.browser
def test_thumbnails_are_framed_alike_and_the_filter_is_readable(open_media):
    page = open_media("alice")
    upload(page, "wide.png", png(160, 40, (230, 120, 40)), title="wide")
    upload(page, "tall.png", png(30, 120, (40, 140, 70)), title="tall")
    wait_for(page, "() => [...document.querySelectorAll('.thumb img')].every((i) => i.naturalWidth > 0)")
    boxes = page.evaluate(
        "[...document.querySelectorAll('.thumb img')].map((i) => {"
        " const r = i.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height),"
        " getComputedStyle(i).objectFit]; })"
    )
    assert len(boxes) == 2 and boxes[0] == boxes[1], boxes  # one frame for a wide and a tall picture
    assert boxes[0][2] == "cover", boxes
    # The filter's placeholder: the muted text colour, fully opaque (contrast at least 4.5 on the panel).
    colour, opacity = page.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('#filter'), '::placeholder');"
        " return [s.color, s.opacity]; })()"
    )
    assert opacity == "1", opacity
    assert colour in ("rgb(107, 114, 128)", "rgb(154, 163, 175)"), colour  # --muted, light or dark
    # ... and whole: the field is wide enough for it.
    assert page.evaluate(
        "(() => { const f = document.querySelector('#filter'); const c = document.createElement('canvas')"
        ".getContext('2d'); c.font = getComputedStyle(f).font;"
        " return c.measureText(f.placeholder).width <= f.clientWidth; })()"
    ), "the filter's placeholder is cut"
