"""The drawing page on a phone (390x844, touch): the board spans the screen and the tools sit under it, each
a fingertip wide, the brand a way home; a stroke drawn with a finger is stored whole (the page neither
scrolls nor takes the gesture) and appears on a desktop, a second finger draws nothing, and colour, width,
undo and clear work by touch. On a desktop the board still fits under its toolbar."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support.phone import (
    DESKTOP,
    HEIGHT,
    LIFTED_MS,
    WIDTH,
    assert_finger_sized,
    assert_no_sideways_scroll,
    assert_on_screen,
    shot,
    touch_drag,
)

from .test_pages import OpenPage, fresh, painted

OpenPhone = Callable[[str, str], Page]
RED = "#e11d48"
# A wave across the board's left half, and a line across its right half (fractions of the board).
WAVE = [(0.08 + i * 0.015, 0.5 + 0.2 * math.sin(i / 4)) for i in range(28)]
LINE = [(0.6 + i * 0.02, 0.3 + i * 0.02) for i in range(15)]


def on_screen(page: Page, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Fractions of the board as points of the window."""
    box = page.locator("#overlay").bounding_box()
    assert box is not None
    return [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]


def finger(page: Page, points: list[tuple[float, float]]) -> None:
    """A stroke through `points` (fractions of the board) drawn with one finger."""
    touch_drag(page, on_screen(page, points), hold_ms=0, step_ms=20)


def two_fingers(page: Page, first: list[tuple[float, float]], second: list[tuple[float, float]]) -> None:
    """A finger put down on `first[0]`, a second one on `second[0]`, both moved along their paths together
    (the second waits at its end for the first) and lifted (touch input through the DevTools protocol)."""
    one, two = on_screen(page, first), on_screen(page, second)
    two += [two[-1]] * (len(one) - len(two))
    session = page.context.new_cdp_session(page)

    def send(kind: str, *points: tuple[float, float]) -> None:
        touches = [{"x": x, "y": y, "id": index} for index, (x, y) in enumerate(points)]
        session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touches})
        page.wait_for_timeout(20)

    send("touchStart", one[0])
    send("touchStart", one[0], two[0])
    for a, b in zip(one[1:], two[1:], strict=True):
        send("touchMove", a, b)
    send("touchEnd")
    session.detach()
    page.wait_for_timeout(LIFTED_MS)


def colour_at(page: Page, x: float, y: float) -> list[int]:
    """The stored strokes' canvas's colour (r, g, b, a) at (x, y), fractions of the board."""
    return page.locator("#base").evaluate(
        """(canvas, [x, y]) => [...canvas.getContext("2d").getImageData(
            Math.round(x * canvas.width), Math.round(y * canvas.height), 1, 1).data]""",
        [x, y],
    )


def page_moved(page: Page) -> list[float]:
    """How far the page scrolled and how much it zoomed: [0, 0, 1] while it stays put."""
    return page.evaluate("[window.scrollX, window.scrollY, window.visualViewport.scale]")


@pytest.mark.browser
def test_the_board_spans_the_phone_and_the_tools_are_a_fingertip_wide(
    open_phone: OpenPhone, open_page: OpenPage, tmp_path: Path
) -> None:
    path = fresh("drawing")
    phone = open_phone(path, "ann")
    assert_no_sideways_scroll(phone)
    title = phone.locator("#page-title")
    assert title.evaluate("node => node.scrollWidth <= node.clientWidth"), "the board's name is cut"
    # The board is (nearly) the screen's width, whole on screen; the toolbar is under it, whole too.
    stage = phone.locator("#stage")
    assert_on_screen(stage, fully=True)
    stage_box, tools_box = stage.bounding_box(), phone.locator(".draw-toolbar").bounding_box()
    assert stage_box is not None and tools_box is not None
    assert stage_box["width"] >= WIDTH - 24, stage_box
    assert tools_box["y"] >= stage_box["y"] + stage_box["height"], (stage_box, tools_box)
    assert tools_box["y"] + tools_box["height"] <= HEIGHT + 0.5, tools_box
    assert_on_screen(phone.locator(".draw-toolbar button, .draw-toolbar input"), fully=True)
    for main in (".tool", "#undo", "#clear", "#width"):
        assert_finger_sized(phone.locator(main))
    assert_finger_sized(phone.locator(".swatch, #color"), least=36)  # nine in a row
    # The finger draws: the board takes no touch gesture for itself (no scrolling, no zoom).
    assert phone.locator("#overlay").evaluate("node => getComputedStyle(node).touchAction") == "none"
    shot(phone, tmp_path, "phone-drawing")
    # The way home: the brand, an icon here.
    home = phone.locator(".topbar .brand")
    assert_on_screen(home, fully=True)
    assert_finger_sized(home)
    home.tap()
    expect(phone.locator(".pages a").first).to_be_visible()

    desk = open_page(path, "bob")
    desk.set_viewport_size(DESKTOP["viewport"])
    # However many lines the toolbar takes (two here), the board fits under it, inside its margin.
    wrap, board = desk.locator(".stage-wrap").bounding_box(), desk.locator("#stage").bounding_box()
    assert wrap is not None and board is not None
    margin = 15  # the 1rem around the board, less a pixel
    assert board["y"] >= wrap["y"] + margin, (wrap, board)
    assert board["y"] + board["height"] <= wrap["y"] + wrap["height"] - margin, (wrap, board)
    assert_no_sideways_scroll(desk)
    shot(desk, tmp_path, "desktop-drawing")


@pytest.mark.browser
def test_a_stroke_drawn_with_a_finger_is_stored_and_shown_on_a_desktop(
    open_phone: OpenPhone, open_page: OpenPage, tmp_path: Path
) -> None:
    path = fresh("drawing")
    phone, desk = open_phone(path, "ann"), open_page(path, "bob")
    phone.locator(f'.swatch[data-color="{RED}"]').tap()
    expect(phone.locator("#color")).to_have_value(RED)
    # The width by touch: a tap near the slider's right end.
    slider = phone.locator("#width").bounding_box()
    assert slider is not None
    phone.touchscreen.tap(slider["x"] + slider["width"] * 0.9, slider["y"] + slider["height"] / 2)
    expect(phone.locator("#width-value")).not_to_have_text("4 px")
    assert int(phone.locator("#width").input_value()) >= 25

    finger(phone, WAVE)
    expect(desk.locator("#overlay")).to_have_attribute("data-strokes", "1")
    assert page_moved(phone) == [0, 0, 1]
    # Stored whole, to the finger's last point (a gesture taken by the browser would have cut it short),
    # in the chosen colour.
    for x, y in (WAVE[2], WAVE[14], WAVE[-2]):
        assert painted(desk, x, y), (x, y)
    red, green, blue, _ = colour_at(desk, *WAVE[14])
    assert red > 180 and green < 90 and blue < 130, (red, green, blue)
    shot(phone, tmp_path, "phone-stroke")
    shot(desk, tmp_path, "desktop-stroke")

    # Undo by touch takes the stroke back, everywhere.
    phone.locator("#undo").tap()
    expect(desk.locator("#overlay")).to_have_attribute("data-strokes", "0")
    assert not painted(desk, *WAVE[14])


@pytest.mark.browser
def test_a_second_finger_draws_nothing_and_clear_takes_two_taps(open_phone: OpenPhone, open_page: OpenPage) -> None:
    path = fresh("drawing")
    phone, desk = open_phone(path, "ann"), open_page(path, "bob")
    # The first finger draws the wave; the second one, down on the line's start while the first is down,
    # draws nothing (a palm or a thumb holding the phone).
    two_fingers(phone, WAVE, LINE)
    expect(desk.locator("#overlay")).to_have_attribute("data-strokes", "1")
    assert painted(desk, *WAVE[1]) and painted(desk, *WAVE[-2])
    assert not any(painted(desk, x, y) for x, y in LINE[1:])
    assert page_moved(phone) == [0, 0, 1]

    finger(phone, LINE)
    for page in (phone, desk):
        expect(page.locator("#overlay")).to_have_attribute("data-strokes", "2")
    clear = phone.locator("#clear")
    clear.tap()
    expect(clear).to_have_text("Click again to clear")
    expect(desk.locator("#overlay")).to_have_attribute("data-strokes", "2")  # one tap clears nothing
    clear.tap()
    expect(desk.locator("#overlay")).to_have_attribute("data-strokes", "0")
    expect(phone.locator("#overlay")).to_have_attribute("data-strokes", "0")
