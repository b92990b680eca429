"""Pub/sub on extra channels of one socket, and presence (full list, diffs, coalescing)."""

from __future__ import annotations

import asyncio

from support.ws import connect

from app.keys import ENGINE
from collab.realtime.presence import Presence


async def test_subscribe_publish_unsubscribe(start) -> None:
    client = await start()
    writer = await connect(client, channel="news", nickname="wanda")
    for i in range(3):
        await writer.send(type="publish", event="tick", data={"n": i}, id=f"t{i}")
        await writer.expect("event", id=f"t{i}")

    reader = await connect(client, channel="general", nickname="rex")
    await reader.send(type="subscribe", channel="news", since=1)
    subscribed, skipped = await reader.until("subscribed")
    assert (subscribed["channel"], subscribed["seq"]) == ("news", 3)
    assert not [f for f in skipped if f["type"] == "event"]
    replayed = [await reader.expect("event") for _ in range(2)]
    assert [(f["seq"], f["event"], f["data"]) for f in replayed] == [(2, "tick", {"n": 1}), (3, "tick", {"n": 2})]

    # Live: a publish on a subscribed channel reaches every subscriber, sender included.
    await reader.send(type="publish", channel="news", event="reply", data=[1, "two", None], id="r1")
    for peer in (reader, writer):
        frame = await peer.expect("event", seq=4)
        assert (frame["channel"], frame["event"], frame["id"]) == ("news", "reply", "r1")
        assert frame["data"] == [1, "two", None]
        assert (frame["user_id"], frame["nickname"]) == (reader.welcome["user"]["id"], "rex") and frame["ts"]

    await reader.send(type="unsubscribe", channel="news")
    assert (await reader.expect("unsubscribed"))["channel"] == "news"
    await writer.send(type="publish", event="tick", data=None, id="after")
    assert (await writer.expect("event", id="after"))["seq"] == 5
    # The writer's echo came after the fan-out was queued: the reader's pong would follow the event.
    assert not [f for f in await reader.barrier() if f.get("channel") == "news"]

    await reader.send(type="publish", channel="news", event="tick", data=1, id="x")
    assert (await reader.expect("error", id="x"))["code"] == "forbidden"
    await reader.send(type="unsubscribe", channel="general")
    assert (await reader.expect("error"))["code"] == "bad_request"  # a socket keeps its own channel
    assert await client.app[ENGINE].store.head("news") == 5


async def test_subscribe_errors(start) -> None:
    client = await start()
    peer = await connect(client, channel="home")
    await peer.send(type="subscribe", channel="home")
    assert (await peer.expect("error"))["code"] == "bad_request"  # already subscribed
    await peer.send(type="subscribe", channel="no spaces allowed")
    assert (await peer.expect("error"))["code"] == "bad_request"
    await peer.send(type="subscribe", channel="nosuchkind:x")
    assert (await peer.expect("error"))["code"] == "bad_request"
    await peer.send(type="unsubscribe", channel="never")
    assert (await peer.expect("error"))["code"] == "bad_request"


def presence_frames(frames: list[dict]) -> list[dict]:
    return [f for f in frames if f["type"] in ("presence", "presence_diff")]


async def test_presence_lists_and_diffs(start) -> None:
    client = await start()
    ann = await connect(client, channel="den", nickname="ann")
    full = await ann.expect("presence")
    assert [u["name"] for u in full["users"]] == ["ann"]

    bob1 = await connect(client, channel="den", nickname="bob")
    bob_id = bob1.welcome["user"]["id"]
    listed = await bob1.expect("presence")
    assert sorted(u["name"] for u in listed["users"]) == ["ann", "bob"]
    diff = await ann.expect("presence_diff")
    assert [u["id"] for u in diff["joins"]] == [bob_id] and diff["leaves"] == []

    # A second tab of bob's (the same user, by its guest token) is not a second person.
    bob2 = await connect(client, channel="den", token=bob1.welcome["token"])
    assert bob2.welcome["user"]["id"] == bob_id
    listed = await bob2.expect("presence")
    assert sorted(u["name"] for u in listed["users"]) == ["ann", "bob"]
    # The presence flush that sent bob2 its list would have queued any diff for ann at the same time.
    assert presence_frames(await ann.barrier()) == []

    await bob2.close()
    await bob1.close()
    diff = await ann.expect("presence_diff")
    assert diff["joins"] == [] and diff["leaves"] == [bob_id]
    assert presence_frames(await ann.barrier()) == []


async def test_presence_is_coalesced_when_many_join_at_once(start, monkeypatch) -> None:
    client = await start()
    early = [await connect(client, channel="crowd", nickname=f"early{i}") for i in range(3)]
    early_ids = {peer.welcome["user"]["id"] for peer in early}
    for peer in early:  # each follows the list (its full list, then diffs) until it sees all three
        present: set[str] = set()
        while present != early_ids:
            frame = await peer.expect(lambda f: f["type"] in ("presence", "presence_diff"))
            if frame["type"] == "presence":
                present = {u["id"] for u in frame["users"]}
            else:
                present = (present | {u["id"] for u in frame["joins"]}) - set(frame["leaves"])

    # The crowd's flushes that carry changes, each with how many joins it carries.
    flushes: list[int] = []
    flush = Presence.flush

    def counted(presence: Presence) -> None:
        if presence.channel.name == "crowd" and (presence._joined or presence._left):
            flushes.append(len(presence._joined))
        flush(presence)

    monkeypatch.setattr(Presence, "flush", counted)
    crowd = await asyncio.gather(*(connect(client, channel="crowd", nickname=f"c{i}") for i in range(50)))
    crowd_ids = {peer.welcome["user"]["id"] for peer in crowd}
    # Changes are flushed once per FLUSH_DELAY, not once per joiner: a member gets one frame per flush,
    # each with the joins of its window. (How many windows 50 joins spread over is a matter of the
    # machine's speed: bench/presence_bench.py prints it.)
    for peer in early:
        joined: set[str] = set()
        count = 0
        while joined != crowd_ids:
            frame = await peer.expect("presence_diff")
            count += 1
            joined |= {u["id"] for u in frame["joins"]}
        assert count == len(flushes), (count, flushes)
    assert sum(flushes) == 50 and len(flushes) <= 25, flushes
