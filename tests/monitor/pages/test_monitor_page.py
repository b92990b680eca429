"""static/monitor.html in Chromium: charts drawn from the live samples and again after a reload, alerts
listed from the stored history."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from support.browser import open_connected, wait_for

# Pixels of a chart's canvas in the colour of its first series (the accent, #4f46e5 in the light scheme):
# the lines themselves, not the grid or the labels (greys).
SERIES_PIXELS = """(id) => {
    const canvas = document.getElementById(id);
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
        const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
        if (a > 128 && b > 150 && r < 140 && g < 140) count++;
    }
    return count;
}"""


def samples(page: Page) -> int:
    return int(page.locator("#charts").get_attribute("data-samples") or 0)


def one_minute(page: Page) -> None:
    page.get_by_role("button", name="1 min").click()
    expect(page.get_by_role("button", name="1 min")).to_have_attribute("aria-pressed", "true")


def open_monitor(browser, url: str, watch) -> Page:
    context = browser.new_context(base_url=url, viewport={"width": 1300, "height": 900}, color_scheme="light")
    return open_connected(context, watch, "/static/monitor.html")


@pytest.mark.browser
def test_the_monitor_draws_charts_and_alerts_and_draws_them_again_after_a_reload(browser, monitor_server, watch):
    page = open_monitor(browser, monitor_server, watch)
    expect(page.locator("#charts figure")).to_have_count(10)
    # A few samples arrive, one a second; in the 10-minute window a chart shows its newest value (a
    # dot at the end of a line a few pixels long), in the 1-minute window the line itself.
    wait_for(page, "() => Number(document.getElementById('charts').dataset.samples) >= 3", timeout=15_000)
    wait_for(page, f"() => ({SERIES_PIXELS})('chart-connections') > 15", timeout=5_000)
    one_minute(page)
    # (the line grows by about 4 pixels a second)
    wait_for(page, f"() => ({SERIES_PIXELS})('chart-connections') > 40", timeout=10_000)
    wait_for(page, f"() => ({SERIES_PIXELS})('chart-memory') > 40", timeout=10_000)
    expect(page.locator("#tiles .tile")).to_have_count(10)

    # The page's own socket is one connection, and the threshold is 1: the alert fires, is stored and
    # shown in the history and as firing now.
    fired = page.locator("#alerts li.alert[data-state=firing]")
    expect(fired).to_have_count(1)
    expect(fired.locator(".alert-metric")).to_have_text("connections")
    expect(page.locator("#firing li.alert")).to_have_count(1)
    expect(page.locator("#tiles .tile.firing")).to_have_count(1)
    before = samples(page)

    # After a reload the history comes back at once: the charts are drawn from it, the alert is there.
    page.reload()
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    wait_for(page, f"() => Number(document.getElementById('charts').dataset.samples) >= {before}", timeout=5_000)
    one_minute(page)
    wait_for(page, f"() => ({SERIES_PIXELS})('chart-connections') > 40", timeout=5_000)
    wait_for(page, f"() => ({SERIES_PIXELS})('chart-cpu') > 40", timeout=5_000)
    expect(page.locator("#alerts li.alert[data-state=firing] .alert-metric")).to_have_text(["connections"])
