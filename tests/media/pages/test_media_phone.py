"""static/media.html on a phone (390x844, touch): nothing wider than the screen, two pictures a row, a
picture uploaded from the phone appears on a desktop, the filter and a tag narrow the gallery, and an
item's editor fits the screen and saves. On a desktop the gallery keeps its columns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support.browser import wait_for
from support.images import png
from support.phone import (
    DESKTOP,
    WIDTH,
    assert_finger_sized,
    assert_no_sideways_scroll,
    assert_on_screen,
    shot,
)

from .test_media_page import card

OpenMedia = Callable[[str], Page]
PICTURES = [  # title, tags, width, height, colour
    ("Harbour at dawn", "sea, morning", 64, 48, (40, 90, 200)),
    ("A very long title for a small picture that needs more than one line", "forest", 30, 120, (40, 140, 70)),
    ("Sunset", "sea, evening", 160, 40, (230, 120, 40)),
]


def upload_by_touch(page: Page, name: str, content: bytes, title: str, tags: str) -> None:
    """A picture chosen from the phone (the file input), named and tagged, uploaded with a tap."""
    page.locator("#file").set_input_files({"name": name, "mimeType": "image/png", "buffer": content})
    expect(page.locator("#drop-name")).to_contain_text(name)
    page.locator("#upload-title").fill(title)
    page.locator("#upload-tags").fill(tags)
    page.locator("#upload-submit").tap()
    expect(page.locator("#upload-status")).to_contain_text("Uploaded")


def shown_titles(page: Page) -> list[str]:
    return page.locator("article.item .item-title").all_inner_texts()


@pytest.mark.browser
def test_a_phone_uploads_filters_and_edits_in_a_gallery_that_fits(
    open_media_phone: OpenMedia, open_media: OpenMedia, tmp_path: Path
) -> None:
    phone, desk = open_media_phone("ann"), open_media("bob")
    assert_no_sideways_scroll(phone)
    form = phone.locator(".topbar .brand, .drop, #upload-title, #upload-tags, #upload-submit, #filter")
    assert_on_screen(form)
    assert_finger_sized(form)
    for index, (title, tags, width, height, colour) in enumerate(PICTURES):
        upload_by_touch(phone, f"picture-{index}.png", png(width, height, colour), title, tags)
    newest_first = [title for title, *_ in reversed(PICTURES)]
    for page in (phone, desk):
        expect(page.locator("article.item .item-title")).to_have_text(newest_first)
    wait_for(phone, "() => [...document.querySelectorAll('.thumb img')].every((i) => i.naturalWidth > 0)")

    # Two pictures a row, each inside the screen, the page no wider than it.
    items = phone.locator("article.item")
    assert_on_screen(items)
    assert_no_sideways_scroll(phone)
    first, second, third = (items.nth(i).bounding_box() for i in range(3))
    assert first and second and third
    assert first["y"] == second["y"] and second["x"] > first["x"] + first["width"], (first, second)
    assert third["y"] > first["y"] and third["x"] == first["x"], third
    assert first["width"] < WIDTH / 2 and first["width"] > WIDTH / 3, first
    assert_finger_sized(phone.locator("article.item .edit"))
    shot(phone, tmp_path, "phone-gallery", full_page=True)

    # The filter narrows the gallery; a tag's chip filters by that tag.
    phone.locator("#filter").fill("forest")
    expect(phone.locator("article.item .item-title")).to_have_text([PICTURES[1][0]])
    expect(phone.locator("#count")).to_have_text("1 of 3")
    phone.locator("#filter").fill("")
    expect(phone.locator("article.item")).to_have_count(3)
    card(phone, "Sunset").locator(".tag", has_text="sea").tap()
    expect(phone.locator("#filter")).to_have_value("sea")
    expect(phone.locator("article.item .item-title")).to_have_text(["Sunset", "Harbour at dawn"])

    # The editor fits the screen, its fields and buttons a fingertip tall; a save shows on the desktop.
    card(phone, "Harbour at dawn").locator(".edit").tap()
    dialog = phone.locator("#edit-dialog")
    expect(dialog).to_be_visible()
    assert_on_screen(dialog, fully=True)
    assert_finger_sized(phone.locator("#edit-title, #edit-tags, #edit-delete, #edit-cancel, #edit-save"))
    phone.locator("#edit-title").fill("Harbour at noon")
    phone.locator("#edit-description").fill("From the pier")
    shot(phone, tmp_path, "phone-edit")
    phone.locator("#edit-save").tap()
    expect(dialog).to_be_hidden()
    for page in (phone, desk):
        expect(card(page, "Harbour at noon").locator(".item-description")).to_have_text("From the pier")

    # A desktop keeps its wider gallery: the three side by side.
    desk.set_viewport_size(DESKTOP["viewport"])
    boxes = [desk.locator("article.item").nth(i).bounding_box() for i in range(3)]
    assert all(boxes) and len({box["y"] for box in boxes if box}) == 1, boxes
    assert_no_sideways_scroll(desk)
    shot(desk, tmp_path, "desktop-gallery")
