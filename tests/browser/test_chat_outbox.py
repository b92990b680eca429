"""Messages typed on the chat page and not acknowledged when the tab closed go on the next visit, once."""

from __future__ import annotations

import json
import uuid

import pytest
from playwright.sync_api import expect
from support.browser import open_connected


def fresh_room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


@pytest.mark.browser
def test_a_message_typed_offline_is_sent_on_the_next_visit(join_chat, watch):
    room = fresh_room()
    alice = join_chat("alice", room)
    bob = join_chat("bob", room)

    bob.context.set_offline(True)
    bob.expect_state("offline")
    bob.send("typed on the train")
    expect(bob.page.locator("#pending li .text")).to_have_text(["typed on the train"])
    bob.page.close()
    bob.context.set_offline(False)

    page = open_connected(bob.context, watch, f"/static/chat.html#{room}")
    expect(page.locator("#messages li.msg .text")).to_have_text(["typed on the train"])
    expect(page.locator("#pending li")).to_have_count(0)
    expect(alice.messages).to_have_text(["typed on the train"])
    assert page.evaluate("localStorage.getItem('collab.chat.outbox')") is None


@pytest.mark.browser
def test_a_message_stored_before_the_tab_closed_is_not_stored_again(join_chat, watch):
    room = fresh_room()
    alice = join_chat("alice", room)
    bob = join_chat("bob", room)
    sent: list[dict] = []
    bob.page.on("websocket", lambda ws: ws.on("framesent", lambda data: sent.append(json.loads(data))))
    bob.page.reload()
    bob.expect_state("open")
    bob.send("stored already")
    expect(alice.messages).to_have_text(["stored already"])
    (frame,) = [f for f in sent if f.get("type") == "message"]

    # The tab closed after the server stored it, before its answer came back: the entry stayed.
    outbox = [{"id": frame["id"], "user": None, "content": "stored already", "room": room}]
    bob.page.evaluate("(v) => localStorage.setItem('collab.chat.outbox', v)", json.dumps(outbox))
    bob.page.close()

    page = open_connected(bob.context, watch, f"/static/chat.html#{room}")
    expect(page.locator("#pending li")).to_have_count(0)
    expect(page.locator("#messages li.msg .text")).to_have_text(["stored already"])
    alice.send("after")
    expect(page.locator("#messages li.msg .text")).to_have_text(["stored already", "after"])
    expect(alice.messages).to_have_text(["stored already", "after"])
    assert page.evaluate("localStorage.getItem('collab.chat.outbox')") is None


@pytest.mark.browser
def test_a_direct_message_typed_offline_is_sent_on_the_next_visit(join_chat, watch):
    room = fresh_room()
    alice = join_chat("alice", room)
    bob = join_chat("bob", room)
    alice_id = bob.page.locator("#presence li.person", has_text="alice").get_attribute("data-user")
    bob.page.get_by_role("button", name="Message alice").click()
    expect(bob.page.locator("#page-title")).to_have_text("@alice")

    bob.context.set_offline(True)
    bob.expect_state("offline")
    bob.send("later, alice")
    bob.page.close()
    bob.context.set_offline(False)

    page = open_connected(bob.context, watch, f"/static/chat.html#dm:{alice_id}")
    expect(page.locator("#messages li.msg .text")).to_have_text(["later, alice"])
    expect(page.locator("#pending li")).to_have_count(0)
    conversation = alice.page.locator("#dms a.room", has_text="bob")
    expect(conversation.locator(".badge")).to_have_text("1")
    conversation.click()
    expect(alice.messages).to_have_text(["later, alice"])
