"""The chat page on a phone (390x844, touch): the rooms and the people are drawers the top bar opens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import PageWatch, browser_contexts, open_connected
from support.phone import PHONE


def fresh_room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def phone_chat(browser: Browser, server: str, watch: PageWatch) -> Iterator:
    """Opens chat.html in `room` as a new user on a phone."""
    with browser_contexts(browser, server, **PHONE) as new_context:

        def open_(nickname: str, room: str) -> Page:
            def present(page: Page) -> None:
                expect(page.locator("#conn")).to_have_attribute("data-state", "open")

            return open_connected(new_context(), watch, f"/static/chat.html#{room}", nickname, ready=present)

        yield open_


@pytest.mark.browser
def test_a_phone_reaches_rooms_and_people_through_drawers(phone_chat, join_chat, tmp_path):
    room, other = fresh_room(), fresh_room()
    ada = join_chat("ada", other)  # a room with someone in it, on a desktop
    ada.send("over here")
    phone = phone_chat("pat", room)
    rooms_panel, people_panel = phone.locator("#rooms-panel"), phone.locator("#people-panel")
    expect(rooms_panel).to_be_hidden()
    expect(people_panel).to_be_hidden()
    expect(phone.locator("#composer-input")).to_be_visible()
    phone.screenshot(path=str(tmp_path / "phone-chat.png"))

    phone.locator("#toggle-rooms").tap()
    expect(rooms_panel).to_be_visible()
    expect(phone.locator("#toggle-rooms")).to_have_attribute("aria-expanded", "true")
    link = phone.locator(f'#rooms a[data-room="{other}"]')
    expect(link).to_be_visible()
    phone.wait_for_timeout(300)  # the slide
    phone.screenshot(path=str(tmp_path / "phone-rooms.png"))
    link.tap()
    expect(phone.locator("#page-title")).to_have_text(f"#{other}")
    expect(rooms_panel).to_be_hidden()
    expect(phone.locator("#messages li.msg .text")).to_have_text(["over here"])

    phone.locator("#toggle-people").tap()
    expect(people_panel).to_be_visible()
    expect(phone.locator("#presence li.person")).to_have_count(2)
    phone.wait_for_timeout(300)
    phone.screenshot(path=str(tmp_path / "phone-people.png"))
    # Tapping beside the drawer closes it.
    phone.locator("#drawer-backdrop").tap(position={"x": 40, "y": 300})
    expect(people_panel).to_be_hidden()

    # A conversation starts from the people drawer too.
    phone.locator("#toggle-people").tap()
    phone.get_by_role("button", name="Message ada").tap()
    expect(phone.locator("#page-title")).to_have_text("@ada")
    expect(people_panel).to_be_hidden()
    phone.locator("#composer-input").fill("hello from a phone")
    phone.locator("#send").tap()
    conversation = ada.page.locator("#dms a.room", has_text="pat")
    expect(conversation.locator(".badge")).to_have_text("1")
    ada.page.screenshot(path=str(tmp_path / "desktop-dm.png"))
