"""Unread counts move for rooms a client is not in: `heads` frames carry the rooms' new heads."""

from __future__ import annotations

import orjson
from support.apps import Start
from support.ws import connect


async def test_heads_reach_clients_outside_the_room(start: Start) -> None:
    client = await start()
    watcher = await connect(client, channel="general", nickname="watcher")
    writer = await connect(client, channel="random", nickname="writer")
    await writer.send(type="message", content="one", id="a")
    await writer.send(type="message", content="two", id="b")
    heads = await watcher.expect("heads", within=5)
    while heads["heads"].get("random") != 2:
        heads = await watcher.expect("heads", within=5)
    assert heads["heads"]["random"] == 2
    await watcher.close()
    await writer.close()


async def test_heads_hide_private_rooms(start: Start) -> None:
    client = await start()
    outsider = await connect(client, channel="general", nickname="outsider")
    owner = await connect(client, channel="general", nickname="owner")
    await owner.send(type="create_room", name="secret", private=True)
    await owner.expect("rooms")
    await owner.send(type="subscribe", channel="secret")
    await owner.expect("subscribed", channel="secret")
    await owner.send(type="message", channel="secret", content="hush", id="s1")
    await owner.send(type="message", channel="general", content="hello", id="g1")
    owner_heads = await owner.expect(lambda f: f["type"] == "heads" and "secret" in f["heads"], within=5)
    assert owner_heads["heads"]["secret"] == 1
    await outsider.expect(lambda f: f["type"] == "heads" and "general" in f["heads"], within=5)
    # A heads push goes to every socket at once, so whatever the push that told the owner of the secret
    # room queued for the outsider is before the outsider's pong. Every frame the outsider read, from
    # its welcome on, must be silent about the room: one frame that was skipped on the way would do.
    await outsider.barrier()
    leaks = [f for f in outsider.frames if any(word in orjson.dumps(f).decode() for word in ("secret", "hush"))]
    assert leaks == [], leaks
    await outsider.close()
    await owner.close()
