"""The chat page's direct messages and private rooms, two or three users in their own browser contexts."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect
from support.auth import token
from support.browser import browser_contexts, open_connected

SHOTS = Path(os.environ.get("COLLAB_SHOTS", "/tmp/shots-dms"))


def fresh_room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


def user_id(user, nickname: str) -> str:
    """The id of `nickname` as `user`'s people list shows it."""
    return user.page.locator("#presence li.person", has_text=nickname).get_attribute("data-user")


@pytest.mark.browser
def test_a_direct_message_becomes_a_conversation_with_its_unread_count(join_chat):
    room = fresh_room()
    alice = join_chat("alice", room)
    bob = join_chat("bob", room)
    expect(alice.page.locator("#presence li.person")).to_have_count(2)
    alice_id, bob_id = user_id(bob, "alice"), user_id(alice, "bob")

    # Alice starts the conversation from the people list.
    alice.page.get_by_role("button", name="Message bob").click()
    expect(alice.page.locator("#page-title")).to_have_text("@bob")
    expect(alice.page.locator("#composer-input")).to_have_attribute("placeholder", "Message @bob")
    alice.send("psst, bob")
    expect(alice.messages).to_have_text(["psst, bob"])
    expect(alice.page.locator("#pending li")).to_have_count(0)
    expect(alice.page.locator(f'#dms a[data-peer="{bob_id}"]')).to_have_attribute("aria-current", "page")

    # Bob, reading the room, gets a conversation with one unread message, not a passing notice.
    conversation = bob.page.locator(f'#dms a[data-peer="{alice_id}"]')
    expect(conversation).to_contain_text("alice")
    expect(conversation.locator(".badge")).to_have_text("1")
    expect(bob.page.locator("#page-title")).to_have_text(f"#{room}")
    expect(bob.messages).to_have_count(0)

    conversation.click()
    expect(bob.page.locator("#page-title")).to_have_text("@alice")
    expect(bob.messages).to_have_text(["psst, bob"])
    expect(conversation.locator(".badge")).to_have_count(0)
    bob.send("hi alice")
    expect(alice.messages).to_have_text(["psst, bob", "hi alice"])
    expect(bob.messages).to_have_text(["psst, bob", "hi alice"])

    # Back in the room, a new message counts as unread, and stays so across a reload.
    bob.page.locator(f'#rooms a[data-room="{room}"]').click()
    expect(bob.page.locator("#page-title")).to_have_text(f"#{room}")
    alice.send("are you there?")
    expect(conversation.locator(".badge")).to_have_text("1")
    expect(bob.messages).to_have_count(0)  # the room shows none of it
    bob.page.reload()
    bob.expect_state("open")
    expect(conversation.locator(".badge")).to_have_text("1")
    conversation.click()
    expect(bob.messages).to_have_text(["psst, bob", "hi alice", "are you there?"])
    expect(conversation.locator(".badge")).to_have_count(0)


@pytest.mark.browser
def test_a_conversation_opened_by_its_address_shows_what_was_said(join_chat):
    room = fresh_room()
    alice = join_chat("alice", room)
    join_chat("bob", room)
    bob_id = user_id(alice, "bob")
    alice.page.get_by_role("button", name="Message bob").click()
    alice.send("first")
    alice.send("second")
    expect(alice.messages).to_have_text(["first", "second"])

    # A new tab of Alice's straight onto the conversation: its history comes from the server.
    page = alice.context.new_page()
    page.goto(f"/static/chat.html#dm:{bob_id}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    expect(page.locator("#messages li.msg .text")).to_have_text(["first", "second"])
    expect(page.locator("#page-title")).to_have_text("@bob")


@pytest.mark.browser
def test_a_private_room_is_made_with_the_members_picked(join_chat):
    room, secret = fresh_room(), fresh_room()
    alice = join_chat("alice", room)
    bob = join_chat("bob", room)
    carol = join_chat("carol", room)
    expect(alice.page.locator("#presence li.person")).to_have_count(3)

    alice.page.locator("#new-room-private").check()
    choices = alice.page.locator("#member-choices label")
    expect(choices.locator(".person-name")).to_have_text(["bob", "carol"])
    choices.filter(has_text="bob").locator("input").check()
    alice.page.locator("#new-room-name").fill(secret)
    alice.page.locator("#new-room button").click()

    expect(alice.page.locator("#page-title")).to_have_text(f"#{secret}")
    alice.expect_state("open")
    expect(alice.page.locator(f'#rooms a[data-room="{secret}"] .room-hash')).to_have_text("🔒")
    bobs = bob.page.locator(f'#rooms a[data-room="{secret}"]')
    expect(bobs.locator(".room-hash")).to_have_text("🔒")
    alice.send("members only")
    bobs.click()
    expect(bob.messages).to_have_text(["members only"])
    # Carol, not picked, never hears of it (Bob's list has it by now, and hers came with the same tick).
    carol.page.wait_for_timeout(1500)
    expect(carol.page.locator(f'#rooms a[data-room="{secret}"]')).to_have_count(0)

    # The same name again: a clear error, and nothing changes.
    bob.page.locator("#new-room-private").check()
    bob.page.locator("#new-room-name").fill(room)
    bob.page.locator("#new-room button").click()
    expect(bob.page.locator("#new-room-error")).to_have_text("That room exists already.")
    expect(bob.page.locator("#page-title")).to_have_text(f"#{secret}")


@pytest.mark.browser
def test_a_conversation_begun_while_away_is_listed_when_the_page_opens(join_chat, new_context, watch, browser, server):
    """Bob writes to Alice while no page of hers is open: her chat page learns of it from the server's
    list (`list_dms`), with its unread count, and the read position she leaves holds in another browser."""
    room = fresh_room()
    alice_id = f"alice-{uuid.uuid4().hex[:8]}"
    alice_token = token(alice_id, name="Alice")
    bob = join_chat("bob", room)
    bob_id = user_id(bob, "bob")
    bob.page.evaluate("(peer) => { location.hash = `dm:${encodeURIComponent(peer)}`; }", alice_id)
    expect(bob.page.locator("#page-title")).to_have_text(f"@{alice_id}")
    bob.send("written while you were away")
    expect(bob.messages).to_have_text(["written while you were away"])
    expect(bob.page.locator("#pending li")).to_have_count(0)

    # Alice opens chat in a browser that never saw the conversation.
    page = open_connected(new_context(), watch, f"/static/chat.html#{room}&token={alice_token}")
    conversation = page.locator(f'#dms a[data-peer="{bob_id}"]')
    expect(conversation).to_contain_text("bob")
    expect(conversation.locator(".badge")).to_have_text("1")
    expect(page.locator("#page-title")).to_have_text(f"#{room}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dm-listed-desktop.png"))

    conversation.click()
    expect(page.locator("#page-title")).to_have_text("@bob")
    expect(page.locator("#messages li.msg .text")).to_have_text(["written while you were away"])
    expect(conversation.locator(".badge")).to_have_count(0)
    # Bob sees that she read it (her read position went to the server).
    expect(bob.page.locator("#seen")).to_have_text("Seen by Alice")

    # Another browser of hers: the conversation is there, read.
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    with browser_contexts(browser, server, **phone) as new_phone:
        other = open_connected(new_phone(), watch, f"/static/chat.html#{room}&token={alice_token}")
        other.locator("#toggle-rooms").tap()
        listed = other.locator(f'#dms a[data-peer="{bob_id}"]')
        expect(listed).to_contain_text("bob")
        other.wait_for_timeout(300)  # the drawer's slide
        other.screenshot(path=str(SHOTS / "dm-listed-phone.png"))
        expect(listed.locator(".badge")).to_have_count(0)
        bob.send("and now?")
        expect(listed.locator(".badge")).to_have_text("1")
