"""static/monitor.html on a phone (390x844, touch): nothing wider than the screen, the alert firing now on
the first screen before the charts, the tiles and charts inside the screen and drawn, the time window's
buttons a fingertip tall. On a desktop the alerts stay in their column beside the charts."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import PageWatch, open_connected, wait_for
from support.phone import (
    DESKTOP,
    HEIGHT,
    PHONE,
    assert_finger_sized,
    assert_no_sideways_scroll,
    assert_on_screen,
    shot,
)

from .test_monitor_page import SERIES_PIXELS


def open_monitor(browser: Browser, url: str, watch: PageWatch, **options) -> Page:
    context = browser.new_context(base_url=url, color_scheme="light", **options)
    return open_connected(context, watch, "/static/monitor.html")


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


@pytest.mark.browser
def test_on_a_phone_the_alerts_come_first_and_everything_fits(
    browser: Browser, monitor_server: str, watch: PageWatch, tmp_path: Path
) -> None:
    phone = open_monitor(browser, monitor_server, watch, **PHONE)
    expect(phone.locator("#charts figure")).to_have_count(10)
    # The page's own socket is one connection, the threshold 1: the alert fires, and shows on the first
    # screen, above the charts.
    firing = phone.locator("#firing li.alert")
    expect(firing).to_have_count(1)
    assert_on_screen(firing, fully=True)
    assert box(phone, "#firing li.alert")["y"] < box(phone, "#charts figure")["y"]
    expect(phone.locator("#alerts li.alert[data-state=firing]")).to_have_count(1)
    # A long history scrolls in its own box, not the page's length.
    overflow, height = phone.locator("#alerts").evaluate(
        "node => [getComputedStyle(node).overflowY, parseFloat(getComputedStyle(node).maxHeight)]"
    )
    assert overflow == "auto" and height <= HEIGHT / 3, (overflow, height)

    wait_for(phone, "() => Number(document.getElementById('charts').dataset.samples) >= 2", timeout=15_000)
    assert_no_sideways_scroll(phone)
    assert_on_screen(phone.locator("#tiles .tile"))
    assert_on_screen(phone.locator("#charts figure"))
    assert_on_screen(phone.locator(".topbar > :visible"))
    assert_finger_sized(phone.locator("[data-window], .topbar .brand"))
    shot(phone, tmp_path, "phone-monitor")
    phone.get_by_role("button", name="1 min").tap()
    expect(phone.get_by_role("button", name="1 min")).to_have_attribute("aria-pressed", "true")
    # A chart as wide as the screen is drawn at its size (the line itself, in the series' colour).
    wait_for(phone, f"() => ({SERIES_PIXELS})('chart-connections') > 20", timeout=10_000)
    chart = box(phone, "#chart-connections")
    assert chart["width"] > PHONE["viewport"]["width"] * 0.8, chart
    phone.locator("#charts figure").nth(3).scroll_into_view_if_needed()
    shot(phone, tmp_path, "phone-monitor-charts")

    # A desktop: the alerts in their column to the right of the charts.
    desk = open_monitor(browser, monitor_server, watch, **DESKTOP)
    expect(desk.locator("#firing li.alert")).to_have_count(1)
    panel, charts = box(desk, ".layout .panel"), box(desk, "#charts")
    assert panel["x"] >= charts["x"] + charts["width"] and panel["y"] == charts["y"], (panel, charts)
    assert_no_sideways_scroll(desk)
    shot(desk, tmp_path, "desktop-monitor")
