"""static/search.html in Chromium: an operator searches what users typed across channels, sees the matched
words marked, pages on, refines by user and time, reads a bad query's reason, opens a hit in its channel at
its seq and downloads the hits; on a phone everything fits. Screenshots go to /tmp/shots-search/."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from support.auth import token
from support.browser import PageWatch
from support.phone import PHONE, assert_finger_sized, assert_no_sideways_scroll, assert_on_screen, shot

SHOTS = Path("/tmp/shots-search")
OPERATOR = token("olga", name="Olga", roles=["operator"])


def open_search(browser: Browser, url: str, watch: PageWatch, jwt: str | None = OPERATOR, **options) -> Page:
    context = browser.new_context(base_url=url, color_scheme="light", accept_downloads=True, **options)
    page = watch.attach(context.new_page())
    page.goto("/static/search.html" + (f"#token={jwt}" if jwt else ""))
    expect(page.locator("#q")).to_be_visible()
    return page


def search(page: Page, text: str, **fields: str) -> None:
    page.locator("#q").fill(text)
    for name in ("user", "channel", "type", "since", "until"):
        page.locator(f"#{name}").fill(fields.get(name, ""))
    page.locator("#search-submit").click()


def where(page: Page) -> list[str]:
    return page.locator("#hits .hit-where").all_inner_texts()


@pytest.mark.browser
def test_an_operator_searches_pages_refines_and_opens_a_hit(browser: Browser, search_server: str, watch) -> None:
    SHOTS.mkdir(exist_ok=True)
    page = open_search(browser, search_server, watch, viewport={"width": 1100, "height": 800})

    search(page, "invoice")
    expect(page.locator("#hits .hit")).to_have_count(2)  # the direct message is an admin's to read
    assert where(page) == ["kanban:ops #1", "general #6"]
    expect(page.locator("#hits .hit").nth(1).locator("mark")).to_have_text(["invoice"])
    expect(page.locator("#hits .hit").nth(1).locator(".snippet")).to_have_text("The late invoice from ACME")
    expect(page.locator("#count")).to_have_text("2 results, newest first")
    shot(page, SHOTS, "desktop-results")

    # A phrase and a prefix; then 60 hits: a page of 50, and the rest on demand.
    search(page, '"late invo"*')
    expect(page.locator("#hits .hit")).to_have_count(1)
    expect(page.locator("#hits mark")).to_have_text(["late invoice"])
    search(page, "many")
    expect(page.locator("#hits .hit")).to_have_count(50)
    expect(page.locator("#count")).to_have_text("50+ results, newest first")
    page.locator("#more").click()
    expect(page.locator("#hits .hit")).to_have_count(60)
    expect(page.locator("#more")).to_be_hidden()
    assert where(page)[0] == "notes #60" and where(page)[-1] == "notes #1"

    # What a user wrote in a window, without words.
    search(page, "", user="ann", since="2026-11-24T09:03:00Z", until="2026-11-24T09:09:00Z")
    expect(page.locator("#hits .hit")).to_have_count(3)
    assert where(page) == ["general #9", "general #7", "general #5"]

    # A query the language refuses: the reason, on the field to fix.
    search(page, '"late invoice')
    expect(page.locator("#search-error")).to_have_text("'text': the quote at character 1 is not closed")
    expect(page.locator("#q")).to_have_attribute("aria-invalid", "true")
    shot(page, SHOTS, "desktop-error")
    search(page, "invoice", channel="general")
    expect(page.locator("#search-error")).to_be_hidden()
    expect(page.locator("#hits .hit")).to_have_count(1)

    # The hit in its channel, at its seq, among its neighbours.
    page.locator("#hits .hit-where").first.click()
    expect(page.locator("#context")).to_be_visible()
    expect(page.locator("#context-title")).to_have_text("general around #6")
    expect(page.locator("#context-events .context-event")).to_have_count(12)
    hit = page.locator("#context-events .is-hit")
    expect(hit).to_have_attribute("data-seq", "6")
    expect(hit.locator(".snippet")).to_have_text("The late invoice from ACME")
    expect(page.locator("#context-open")).to_have_attribute("href", "/static/chat.html#general")
    shot(page, SHOTS, "desktop-context")
    page.locator("#context-back").click()
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#hits .hit")).to_have_count(1)

    # The hits as CSV, with the token in a header (not in a link).
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0][-1] == "snippet" and [(row[2], row[0], row[-1]) for row in rows[1:]] == [
        ("general", "6", "The late «invoice» from ACME")
    ]


@pytest.mark.browser
def test_an_admin_finds_direct_messages_and_a_user_without_the_role_is_told(
    browser: Browser, search_server: str, watch
) -> None:
    admin = open_search(browser, search_server, watch, token("ada", roles=["admin"]))
    search(admin, "invoice")
    expect(admin.locator("#hits .hit")).to_have_count(3)
    assert where(admin) == ["dm:ann:bob #1", "kanban:ops #1", "general #6"]
    admin.locator("#hits .hit-where").first.click()
    expect(admin.locator("#context-events .is-hit .snippet")).to_have_text("that invoice again")
    expect(admin.locator("#context-open")).to_be_hidden()  # a direct message has no page of an admin's

    user = open_search(browser, search_server, watch, token("ann", roles=[]))
    search(user, "invoice")
    expect(user.locator("#search-error")).to_contain_text("Operators only")
    expect(user.locator("#hits .hit")).to_have_count(0)

    nobody = open_search(browser, search_server, watch, None)
    expect(nobody.locator("#signin-dialog")).to_be_visible()
    expect(nobody.locator("#signin-reason")).to_contain_text("operator")


@pytest.mark.browser
def test_on_a_phone_everything_fits(browser: Browser, search_server: str, watch) -> None:
    SHOTS.mkdir(exist_ok=True)
    phone = open_search(browser, search_server, watch, **PHONE)
    search(phone, "invoice")
    expect(phone.locator("#hits .hit")).to_have_count(2)
    assert_no_sideways_scroll(phone)
    assert_on_screen(phone.locator("#hits .hit"))
    assert_finger_sized(phone.locator("#search-submit, #export-csv, #export-jsonl"))
    assert_finger_sized(phone.locator("#q"), least=40)
    shot(phone, SHOTS, "phone-results", full_page=True)
    phone.locator("#hits .hit-where").nth(1).click()
    expect(phone.locator("#context-events .is-hit")).to_be_visible()
    assert_no_sideways_scroll(phone)
    assert_finger_sized(phone.locator("#context-back"))
    shot(phone, SHOTS, "phone-context")
