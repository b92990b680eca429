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


async def test_a_room_being_joined_into_existence_cannot_be_created_meanwhile(start) -> None:
    # A join made the room's name in use: a create_room racing that join's making is a conflict, as it
    # is once the room is made, whoever's write would have landed first.
    client = await start()
    engine = client.app[ENGINE]
    gate = asyncio.Event()
    create_channel = engine.store.create_channel

    held_once: list[str] = []

    async def held(name: str, **options):
        if name == "raced" and not held_once:  # the joiner's making waits; the creator's does not
            held_once.append(name)
            await gate.wait()
        return await create_channel(name, **options)

    engine.store.create_channel = held
    joiner = await connect(client, channel="raced", nickname="joiner")
    await wait_for(lambda: "raced" in engine.rooms._ensuring, what="the joiner making the room")
    creator = await connect(client, channel="elsewhere", nickname="creator")
    await creator.send(type="create_room", name="raced", private=True, id="make")
    await asyncio.sleep(0.1)
    gate.set()
    answer = await creator.expect(lambda f: f["type"] == "error" or f.get("id") == "make")
    assert (answer["type"], answer.get("code"), answer.get("id")) == ("error", "conflict", "make"), answer
    info = await engine.store.get_channel("raced")
    assert info is not None and not info.private
    await joiner.send(type="message", content="still public")
    await joiner.expect("message", content="still public")
