"""static/monitor.html on node one of two: the charts are node one's, the table shows both nodes and
their totals (node two's figures arrive relayed through PostgreSQL); on a phone it scrolls in its box."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from support.browser import open_connected
from support.phone import PHONE, assert_no_sideways_scroll, assert_on_screen, shot

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_the_page_shows_every_node_and_the_totals(browser, nodes, watch, tmp_path):
    one, two = nodes(2)
    context = browser.new_context(base_url=one.url, viewport={"width": 1300, "height": 900})
    page = open_connected(context, watch, "/static/monitor.html")
    rows = page.locator("#nodes tbody tr[data-node]")
    expect(rows).to_have_count(2, timeout=15_000)
    expect(page.locator("#nodes")).to_be_visible()
    # This page's node first, named as such; the total row counts both nodes.
    expect(rows.first).to_contain_text("(this page)")
    expect(page.locator("#nodes tfoot tr.total")).to_have_attribute("data-total", "2")
    # The page's own socket is one connection on node one, none on node two: the total is 1.
    connections = page.locator("#nodes tfoot tr.total th").nth(1)
    expect(connections).to_have_text("1", timeout=10_000)
    shot(page, tmp_path, "desktop-nodes")

    # Node two stops: it leaves the table (no frame for 10 intervals) and the table goes.
    two.stop()
    expect(page.locator("#nodes")).to_be_hidden(timeout=20_000)
    context.close()


def test_on_a_phone_the_table_scrolls_in_its_own_box(browser, nodes, watch, tmp_path):
    one, _ = nodes(2)
    context = browser.new_context(base_url=one.url, **PHONE)
    page = open_connected(context, watch, "/static/monitor.html")
    expect(page.locator("#nodes tbody tr[data-node]")).to_have_count(2, timeout=15_000)
    # Eleven columns are wider than a phone: the table's box scrolls sideways, the page does not.
    box = page.locator("#nodes")
    assert_on_screen(box)
    assert_no_sideways_scroll(page)
    wider, scrolled = box.evaluate(
        "node => { const wider = node.scrollWidth > node.clientWidth; node.scrollLeft = 80;"
        " return [wider, node.scrollLeft]; }"
    )
    assert wider and scrolled > 0, (wider, scrolled)
    page.locator("#nodes").scroll_into_view_if_needed()
    shot(page, tmp_path, "phone-nodes")
    context.close()
