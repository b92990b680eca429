"""Amplification through rooms and subscriptions (issue 11, item 9), tried as an attacker would: one
user creating room after room (each creation used to send every connected socket its whole room list
again), and one socket subscribing to channel after channel."""

from __future__ import annotations

import time

import orjson
from support.auth import token
from support.ws import Peer, connect, refused

from app.keys import ENGINE
from collab.chat.rooms import HEADS_INTERVAL, MAX_ROOMS_PER_USER
from collab.realtime.dispatch import MAX_SUBSCRIPTIONS

CREATIONS = 20


def names(frame: dict) -> set[str]:
    return {room["name"] for room in frame["rooms"]}


def size(frame: dict) -> int:
    return len(orjson.dumps(frame))


async def test_a_user_makes_rooms_up_to_the_cap_and_the_next_is_refused_without_storing(start) -> None:
    client = await start()
    ann = await connect(client, channel="lobby", token=token("ann"))  # ann's room (made by joining)
    mallory = await connect(client, channel="lobby", token=token("mallory"))
    # Sent back to back: creations under way count against the cap too.
    for i in range(MAX_ROOMS_PER_USER + 2):
        await mallory.send(type="create_room", name=f"spam-{i:03d}", id=f"c{i}")
    refusals = []
    while len(refusals) < 2:
        frame = await mallory.expect(lambda f: f["type"] == "error")
        refusals.append(frame)
    assert [(f["code"], f["id"]) for f in refusals] == [
        ("limit_exceeded", f"c{MAX_ROOMS_PER_USER}"),
        ("limit_exceeded", f"c{MAX_ROOMS_PER_USER + 1}"),
    ], refusals
    store = client.app[ENGINE].store
    assert await store.get_channel(f"spam-{MAX_ROOMS_PER_USER - 1:03d}") is not None
    assert await store.get_channel(f"spam-{MAX_ROOMS_PER_USER:03d}") is None
    await mallory.barrier()
    listed = [f for f in mallory.frames if f["type"] == "rooms"][-1]
    assert f"spam-{MAX_ROOMS_PER_USER:03d}" not in names(listed)

    # Joining names nobody used makes no more rooms either: refused after the announcement, as a join
    # that finds the room made private meanwhile is (nothing of the room is stored).
    await mallory.send(type="subscribe", channel="sneaky")
    await mallory.expect("subscribed", channel="sneaky")
    out = await mallory.expect("unsubscribed", channel="sneaky")
    assert "rooms" in out["reason"], out
    code, frames = await refused(client, channel="sneakier", token=token("mallory"))
    assert code == 1008 and frames[-1]["code"] == "limit_exceeded", frames
    for name in ("sneaky", "sneakier"):
        assert await store.get_channel(name) is None
    # Joining a room that exists is no making of one.
    await ann.send(type="subscribe", channel="ann-feed")
    await ann.expect("subscribed", channel="ann-feed")
    await mallory.send(type="subscribe", channel="ann-feed")
    await mallory.expect("subscribed", channel="ann-feed")

    # Another user is not held back by mallory's rooms.
    await ann.send(type="create_room", name="ann-room", id="a1")
    assert "ann-room" in names(await ann.expect(lambda f: f["type"] == "rooms" and "ann-room" in names(f)))


async def test_other_sockets_get_a_small_frame_or_one_list_per_tick_for_a_burst_of_creations(start) -> None:
    client = await start()
    mallory = await connect(client, channel="lobby", token=token("mallory"))
    # bob's client knows only `rooms` (the base contract); carol's takes `room_added` (room_changes=1).
    bob = await connect(client, channel="lobby", token=token("bob"))
    carol = await connect(client, channel="lobby", token=token("carol"), room_changes=1)
    for peer in (bob, carol):
        await peer.barrier()
    bob_before, carol_before = len(bob.frames), len(carol.frames)

    created = {f"burst-{i:02d}" for i in range(CREATIONS)}
    started = time.monotonic()
    for name in sorted(created):
        await mallory.send(type="create_room", name=name)
    # The creator's answer: its own list, at once.
    await mallory.expect(lambda f: f["type"] == "rooms" and created <= names(f))
    # bob hears of every room, in lists: at most one per tick however many rooms came meanwhile.
    await bob.expect(lambda f: f["type"] == "rooms" and created <= names(f))
    elapsed = time.monotonic() - started
    bob_lists = [f for f in bob.frames[bob_before:] if f["type"] == "rooms"]
    assert len(bob_lists) <= elapsed / HEADS_INTERVAL + 1, (len(bob_lists), elapsed)
    assert len(bob_lists) < CREATIONS

    # carol gets each room alone, one small frame per creation, and no list at all.
    added = [await carol.expect("room_added") for _ in range(CREATIONS)]
    assert {f["room"]["name"] for f in added} == created
    assert all(f["room"]["private"] is False and f["room"]["unread"] == 0 for f in added)
    await carol.barrier()
    carol_traffic = carol.frames[carol_before:]
    assert [f for f in carol_traffic if f["type"] == "rooms"] == []
    per_creation = sum(size(f) for f in carol_traffic if f["type"] == "room_added") / CREATIONS
    assert per_creation < 200, per_creation


async def test_a_private_room_is_announced_only_to_who_can_see_it(start) -> None:
    client = await start()
    owner = await connect(client, channel="lobby", token=token("olive"))
    member = await connect(client, channel="lobby", token=token("fay"), room_changes=1)
    outsider = await connect(client, channel="lobby", token=token("eve"), room_changes=1)
    plain_outsider = await connect(client, channel="lobby", token=token("mallory"))
    await plain_outsider.barrier()
    lists_before = [f for f in plain_outsider.frames if f["type"] == "rooms"]
    await owner.send(type="create_room", name="council", private=True, members=["fay"])
    added = await member.expect("room_added")
    assert added["room"]["name"] == "council" and added["room"]["private"] is True
    # Lists owed go out in the tick before its `heads`: once this one is in, so would a list be.
    await owner.send(type="message", content="tick", id="t")
    await plain_outsider.expect(lambda f: f["type"] == "heads" and "lobby" in f["heads"], within=5)
    for peer in (outsider, plain_outsider):
        seen = peer.frames + await peer.barrier()
        assert not [f for f in seen if "council" in orjson.dumps(f).decode()], seen
    # A plain client that cannot see the room is not sent its list again either.
    assert [f for f in plain_outsider.frames if f["type"] == "rooms"] == lists_before


async def subscribe_many(peer: Peer, count: int) -> None:
    for i in range(count):
        await peer.send(type="subscribe", channel=f"feed-{i:04d}")
    await peer.expect("subscribed", channel=f"feed-{count - 1:04d}", within=60)


async def test_a_socket_subscribes_up_to_the_cap_and_the_next_is_refused(start) -> None:
    # Budgets that let 1,000 subscriptions through at once (each costs 20), and rooms enough (each new
    # name joined makes one): the cap on subscriptions is what stops them.
    client = await start(rate_burst=100_000, user_rate_burst=100_000, max_rooms_per_user=2000)
    hoarder = await connect(client, channel="lobby", token=token("hoarder"))
    await subscribe_many(hoarder, MAX_SUBSCRIPTIONS)
    await hoarder.send(type="subscribe", channel="one-too-many", id="extra")
    error = await hoarder.expect("error", within=30)
    assert (error["code"], error["id"]) == ("limit_exceeded", "extra"), error
    manager = client.app[ENGINE].manager
    assert "one-too-many" not in manager.channels
    session = manager.sessions[hoarder.client_id]
    assert len(session.channels) == MAX_SUBSCRIPTIONS + 1  # the own channel is not a subscription

    # Leaving one makes room for another.
    await hoarder.send(type="unsubscribe", channel="feed-0000")
    await hoarder.expect("unsubscribed", channel="feed-0000")
    await hoarder.send(type="subscribe", channel="one-too-many")
    await hoarder.expect("subscribed", channel="one-too-many")
