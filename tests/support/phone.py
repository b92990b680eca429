"""Pages on a phone: the browser context of a touch phone at 390x844, a finger moved through points (real
touch input), and the layout facts the phone tests assert: nothing wider than the screen, a control inside
it and as big as a fingertip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page

WIDTH, HEIGHT = 390, 844
# `new_context` options: the screen, a touch screen, a mobile browser (the page's viewport meta applies).
PHONE: dict[str, Any] = {"viewport": {"width": WIDTH, "height": HEIGHT}, "is_mobile": True, "has_touch": True}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1100, "height": 720}}
# A control's least width and height for a finger (the main actions'); smaller where noted.
FINGER = 40


# How long a finger stays off the screen after a drag: Chromium makes no click of a tap that comes within
# about 100 ms of a lifted drag (no person is that quick; a test that taps next would be).
LIFTED_MS = 200
# How often, and how far apart, an element that has no box is measured again (`_shown_box`).
RETRIES, RETRY_MS = 5, 100


def touch_drag(page: Page, points: list[tuple[float, float]], hold_ms: int = 450, step_ms: int = 30) -> None:
    """A finger put down on the first point, held `hold_ms`, moved through the others and lifted (real touch
    input through the DevTools protocol, as a touch screen gives it: the page gets touch events and pointer
    events of pointerType "touch"), then kept off the screen for `LIFTED_MS`."""
    session = page.context.new_cdp_session(page)
    x, y = points[0]
    session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    page.wait_for_timeout(hold_ms)
    for x, y in points[1:]:
        session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        page.wait_for_timeout(step_ms)
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()
    page.wait_for_timeout(LIFTED_MS)


def assert_no_sideways_scroll(page: Page) -> None:
    """The page is no wider than the window: nothing overflows it sideways."""
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"the page is {width} px wide in a {inner} px window"


def assert_on_screen(locator: Locator, *, fully: bool = False) -> None:
    """Every element of `locator` lies within the window's width (and, `fully`, its height too)."""
    size = locator.page.viewport_size
    assert size is not None
    count = locator.count()
    assert count, f"nothing matches {locator}"
    for index in range(count):
        box = _shown_box(locator.nth(index))
        assert box is not None, f"{locator} #{index} is not shown"
        assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5, (locator, index, box)
        if fully:
            assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 0.5, (locator, index, box)


def _shown_box(element: Locator) -> dict[str, float] | None:
    """The element's box; asked again a few times when there is none, as a list a page renders anew
    (the monitor's alerts at each sample) can detach the element between finding and measuring it."""
    for _ in range(RETRIES):
        box = element.bounding_box()
        if box is not None:
            return box  # type: ignore[return-value]
        element.page.wait_for_timeout(RETRY_MS)
    return None


def assert_finger_sized(locator: Locator, least: float = FINGER) -> None:
    """Every element of `locator` is at least `least` px wide and tall."""
    count = locator.count()
    assert count, f"nothing matches {locator}"
    for index in range(count):
        box = locator.nth(index).bounding_box()
        assert box is not None, f"{locator} #{index} is not shown"
        assert box["width"] >= least and box["height"] >= least, (locator, index, box)


def shot(page: Page, folder: Path, name: str, *, full_page: bool = False) -> None:
    """A screenshot of `page` as `folder`/`name`.png, to look at (the test's tmp_path: `pytest
    --basetemp=DIR` keeps them in DIR)."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)
