"""The chat page (static/chat.html) against the real server, two users in two browser contexts."""

from __future__ import annotations

import json
import uuid

import pytest
from playwright.sync_api import expect

XSS = "<img src=x onerror=alert(1)>"


def fresh_room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


@pytest.mark.browser
def test_two_users_see_each_others_messages_once(join_chat):
    room = fresh_room()
    alice = join_chat("alice", room)
    bob = join_chat("bob", room)
    for user in (alice, bob):
        expect(user.page.locator("#presence li.person")).to_have_count(2)

    alice.send("hello from alice")
    expect(bob.messages).to_have_text(["hello from alice"])
    bob.send("hi alice")
    for user in (alice, bob):
        expect(user.messages).to_have_text(["hello from alice", "hi alice"])
        expect(user.page.locator("#pending li")).to_have_count(0)
    expect(alice.page.locator("#messages li.msg.mine .text")).to_have_text(["hello from alice"])
    expect(alice.page.locator("#messages li.msg .nick").last).to_have_text("bob")


@pytest.mark.browser
def test_offline_user_gets_every_missed_message_once_in_order(join_chat):
    room = fresh_room()
    alice = join_chat("alice", room)
    bob = join_chat("bob", room)
    alice.send("before")
    expect(bob.messages).to_have_text(["before"])
    # Every state the indicator shows, in order.
    bob.page.evaluate(
        """() => {
            window.connStates = [];
            const conn = document.getElementById("conn");
            new MutationObserver(() => window.connStates.push(conn.dataset.state))
                .observe(conn, {attributes: true, attributeFilter: ["data-state"]});
        }"""
    )

    # Chromium keeps an open WebSocket "open" when the context goes offline (it just stops moving
    # frames): the client gives the socket up on the `offline` event (or on a missed heartbeat).
    bob.context.set_offline(True)
    bob.expect_state("offline")
    expect(bob.page.locator("#conn")).to_have_text("Offline")
    missed = [f"missed {n}" for n in range(1, 6)]
    for text in missed:
        alice.send(text)
    bob.send("typed while offline")
    expect(bob.page.locator("#pending li .msg-time")).to_have_text("Waiting for connection…")
    expect(alice.messages).to_have_text(["before", *missed])
    expect(bob.messages).to_have_text(["before"])

    bob.context.set_offline(False)
    bob.expect_state("open")
    everything = ["before", *missed, "typed while offline"]
    expect(bob.messages).to_have_text(everything)
    expect(alice.messages).to_have_text(everything)
    expect(bob.page.locator("#pending li")).to_have_count(0)
    states = bob.page.evaluate("window.connStates")
    assert states[0] == "offline" and states[-1] == "open", states
    assert "reconnecting" in states, states
    seqs = [int(s) for s in bob.page.locator("#messages li.msg").evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == list(range(1, len(everything) + 1))


@pytest.mark.browser
def test_markup_typed_by_users_stays_text(join_chat):
    room = fresh_room()
    alice = join_chat("alice", room)
    mallory = join_chat("<b>mallory</b>", room)
    mallory.send(XSS)
    expect(alice.messages).to_have_text([XSS])
    expect(alice.page.locator("#messages li.msg .nick")).to_have_text(["<b>mallory</b>"])
    expect(alice.page.locator("#presence li.person", has_text="<b>mallory</b>")).to_be_visible()
    for user in (alice, mallory):
        expect(user.page.locator("#messages img")).to_have_count(0)
        expect(user.page.locator("#presence b, #messages b")).to_have_count(0)
    # The `watch` fixture fails the test if alert() ran.


@pytest.mark.browser
def test_rooms_switch_and_count_unread(join_chat):
    first, second, third = fresh_room(), fresh_room(), fresh_room()
    alice = join_chat("alice", first)
    bob = join_chat("bob", first)
    alice.send("one")
    expect(bob.messages).to_have_text(["one"])
    # Bob's page reports what he read; Alice sees the receipt.
    expect(alice.page.locator("#seen")).to_have_text("Seen by bob")

    bob.page.locator("#new-room-name").fill(second)
    bob.page.locator("#new-room button").click()
    expect(bob.page.locator("#page-title")).to_have_text(f"#{second}")
    bob.expect_state("open")
    expect(bob.messages).to_have_count(0)
    alice.send("two")
    alice.send("three")
    expect(alice.messages).to_have_text(["one", "two", "three"])

    # The room list comes with every new socket: opening another room brings the unread count.
    bob.page.goto(f"/static/chat.html#{third}")
    bob.expect_state("open")
    badge = bob.page.locator(f'#rooms a[data-room="{first}"] .badge')
    expect(badge).to_have_text("2")
    bob.page.locator(f'#rooms a[data-room="{first}"]').click()
    expect(bob.page.locator("#page-title")).to_have_text(f"#{first}")
    expect(bob.messages).to_have_text(["one", "two", "three"])
    expect(badge).to_have_count(0)


@pytest.mark.browser
def test_a_room_someone_creates_comes_alone_to_the_others_list(join_chat):
    first, second, created = fresh_room(), fresh_room(), fresh_room()
    alice = join_chat("alice", first)
    bob = join_chat("bob", first)
    # Alice's next socket (she opens another room): every frame it receives.
    received: list[dict] = []
    alice.page.on("websocket", lambda ws: ws.on("framereceived", lambda data: received.append(json.loads(data))))
    alice.page.goto(f"/static/chat.html#{second}")
    alice.expect_state("open")
    expect(alice.page.locator(f'#rooms a[data-room="{second}"]')).to_be_visible()

    bob.page.locator("#new-room-name").fill(created)
    bob.page.locator("#new-room button").click()
    expect(alice.page.locator(f'#rooms a[data-room="{created}"]')).to_be_visible()
    added = [f for f in received if f["type"] == "room_added"]
    assert [f["room"]["name"] for f in added] == [created], received
    # The room came alone: the only `rooms` list is the one that came with the socket.
    assert len([f for f in received if f["type"] == "rooms"]) == 1, received


@pytest.mark.browser
def test_a_reload_keeps_the_same_guest(join_chat):
    room = fresh_room()
    alice = join_chat("alice", room)
    join_chat("bob", room)
    alice.send("still me?")
    before = alice.page.locator("#presence li.person", has_text="alice").get_attribute("data-user")

    alice.page.reload()
    alice.expect_state("open")
    # The guest token from the first `welcome` came back: the same user, not a second "alice".
    expect(alice.page.locator("#presence li.person")).to_have_count(2)
    expect(alice.page.locator("#presence li.person", has_text="alice")).to_have_attribute("data-user", before)
    expect(alice.messages).to_have_text(["still me?"])
    expect(alice.page.locator("#messages li.msg.mine")).to_have_count(1)


@pytest.mark.browser
def test_clients_come_back_after_a_server_restart(join_chat, own_server):
    room = fresh_room()
    alice = join_chat("alice", room, base_url=own_server.url)
    bob = join_chat("bob", room, base_url=own_server.url)
    alice.send("before the restart")
    expect(bob.messages).to_have_text(["before the restart"])

    own_server.stop()
    for user in (alice, bob):
        user.expect_state("reconnecting")
    alice.send("sent while the server was down")
    expect(alice.page.locator("#pending li")).to_have_count(1)

    own_server.start()
    for user in (alice, bob):
        # The backoff may have grown to its 15 s cap while the server was down.
        user.expect_state("open", timeout=30_000)
        expect(user.messages).to_have_text(["before the restart", "sent while the server was down"])
        expect(user.page.locator("#presence li.person")).to_have_count(2)
    expect(alice.page.locator("#pending li")).to_have_count(0)
