"""The kanban page on a phone (390x844, touch) and by keyboard (issue 12): the board's name shows whole,
the page is no wider than the screen, cards move by a held-then-dragged finger, by Shift+arrow keys and
by the column chosen in the card dialog; another page sees each move."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from support.phone import WIDTH, touch_drag

from .test_pages import OpenPage, add_card, add_column, cards, fresh, settled


def board_with_cards(phone: Page, desk: Page) -> None:
    for title in ("To do", "Doing"):
        add_column(phone, title)
    for title in ("First", "Second", "Third"):
        add_card(phone, 0, title)
    expect(cards(desk, 0)).to_have_text(["First", "Second", "Third"])
    settled(phone)


def centre(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


@pytest.mark.browser
def test_the_phone_layout_shows_the_board_name_and_fits_the_screen(open_phone, open_page: OpenPage) -> None:
    path = fresh("kanban")
    phone, desk = open_phone(path, "ann"), open_page(path, "bob")
    board_with_cards(phone, desk)
    title = phone.locator("#page-title")
    # The heading is not cut: it is as wide as its text, and the page does not scroll sideways.
    assert title.evaluate("node => node.scrollWidth <= node.clientWidth")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= WIDTH
    first = phone.locator(".column").first.bounding_box()
    assert first is not None and first["x"] >= 0 and first["x"] + first["width"] <= WIDTH


@pytest.mark.browser
def test_a_card_held_and_dragged_by_touch_moves(open_phone, open_page: OpenPage) -> None:
    path = fresh("kanban")
    phone, desk = open_phone(path, "ann"), open_page(path, "bob")
    board_with_cards(phone, desk)
    # Within the column: "First" dragged below "Third".
    start = centre(phone, ".card:has-text('First')")
    below = phone.locator(".card", has_text="Third").bounding_box()
    assert below is not None
    end = (start[0], below["y"] + below["height"] - 3)
    touch_drag(phone, [start, *[(start[0], start[1] + (end[1] - start[1]) * k / 6) for k in range(1, 7)]])
    for page in (phone, desk):
        expect(cards(page, 0)).to_have_text(["Second", "Third", "First"])
    expect(phone.locator("#card-dialog")).to_be_hidden()  # a drag does not open the card

    # Across columns: the second column is partly on screen at the right edge.
    target = phone.locator(".column").nth(1).locator(".cards").bounding_box()
    assert target is not None
    start = centre(phone, ".card:has-text('Second')")
    end = (min(target["x"] + 20, WIDTH - 5), target["y"] + 10)
    touch_drag(
        phone,
        [
            start,
            *[(start[0] + (end[0] - start[0]) * k / 6, start[1] + (end[1] - start[1]) * k / 6) for k in range(1, 7)],
        ],
    )
    for page in (phone, desk):
        expect(cards(page, 1)).to_have_text(["Second"])
        expect(cards(page, 0)).to_have_text(["Third", "First"])


@pytest.mark.browser
def test_a_short_touch_opens_the_card_and_its_dialog_moves_it_to_another_column(
    open_phone, open_page: OpenPage
) -> None:
    path = fresh("kanban")
    phone, desk = open_phone(path, "ann"), open_page(path, "bob")
    board_with_cards(phone, desk)
    phone.locator(".card", has_text="Second").tap()
    expect(phone.locator("#card-dialog")).to_be_visible()
    phone.locator("#card-column").select_option(label="Doing")
    phone.locator("#card-save").tap()
    expect(phone.locator("#card-dialog")).to_be_hidden()
    for page in (phone, desk):
        expect(cards(page, 1)).to_have_text(["Second"])
        expect(cards(page, 0)).to_have_text(["First", "Third"])


@pytest.mark.browser
def test_cards_move_by_keyboard(open_page: OpenPage) -> None:
    path = fresh("kanban")
    ann, bob = open_page(path, "ann"), open_page(path, "bob")
    board_with_cards(ann, bob)
    ann.locator(".card", has_text="First").focus()
    ann.keyboard.press("Shift+ArrowDown")
    expect(cards(bob, 0)).to_have_text(["Second", "First", "Third"])
    expect(ann.locator(".card:focus")).to_have_text("First")  # the moved card keeps the focus
    ann.keyboard.press("Shift+ArrowRight")
    expect(cards(bob, 1)).to_have_text(["First"])
    expect(ann.locator("#kanban-live")).to_contain_text("Doing")
    ann.keyboard.press("Shift+ArrowLeft")  # back at the height it had in the other column: the top
    expect(cards(bob, 0)).to_have_text(["First", "Second", "Third"])
    # Plain arrows go from card to card; Enter opens the focused one.
    ann.keyboard.press("ArrowDown")
    ann.keyboard.press("ArrowDown")
    expect(ann.locator(".card:focus")).to_have_text("Third")
    ann.keyboard.press("Enter")
    expect(ann.locator("#card-title")).to_have_value("Third")
    settled(ann)
