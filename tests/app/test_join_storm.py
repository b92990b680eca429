"""Many sockets joining one new room at once (a node taking over a dead one's clients): the room is read
and made once, by the first joiner, and every joiner gets in."""

from __future__ import annotations

import asyncio

from support.waiting import wait_for
from support.ws import connect

from app.keys import ENGINE
from collab.errors import StoreUnavailable


async def test_ten_joiners_of_a_new_room_make_it_once(start) -> None:
    client = await start()
    engine = client.app[ENGINE]
    store = engine.store
    made: list[str] = []
    create_channel = store.create_channel

    async def counted(name: str, **options):
        made.append(name)
        await asyncio.sleep(0.05)  # the others arrive while it is being made
        return await create_channel(name, **options)

    store.create_channel = counted
    peers = await asyncio.gather(*(connect(client, channel="crowded", nickname=f"n{i}") for i in range(10)))
    await wait_for(lambda: "crowded" in engine.rooms.infos, what="the room made")
    assert made == ["crowded"]
    info = await store.get_channel("crowded")
    assert info is not None and info.created_by in {peer.welcome["user"]["id"] for peer in peers}
    # Every joiner is in: a message from the last reaches the first.
    await peers[-1].send(type="message", content="all here")
    await peers[0].expect("message", content="all here")
    for peer in peers:
        await peer.close()


async def test_a_joiner_the_making_failed_for_leaves_it_to_the_next(start) -> None:
    client = await start()
    engine = client.app[ENGINE]
    gate = asyncio.Event()
    create_channel = engine.store.create_channel
    calls = 0

    async def first_fails(name: str, **options):
        nonlocal calls
        calls += 1
        if calls == 1:
            await gate.wait()
            raise StoreUnavailable("the database is unavailable (nothing was changed); try again")
        return await create_channel(name, **options)

    engine.store.create_channel = first_fails
    first = await connect(client, channel="second-try", nickname="first")
    await wait_for(lambda: "second-try" in engine.rooms._ensuring, what="the first joiner making the room")
    second = await connect(client, channel="second-try", nickname="second")
    await asyncio.sleep(0.1)
    assert calls == 1  # the second waits for the first's making instead of making the room again
    gate.set()
    code, frames = await first.closed()
    assert code == 1013 and any(f.get("code") == "unavailable" for f in frames)
    await wait_for(lambda: "second-try" in engine.rooms.infos, what="the room made by the second joiner")
    assert calls == 2
    await second.send(type="message", content="made it")
    await second.expect("message", content="made it")
    await second.close()
