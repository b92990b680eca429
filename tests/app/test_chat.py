"""Chat over /ws: the echo is the ack, gapless seqs, resume under load, idempotent retries."""

from __future__ import annotations

import asyncio

from support.waiting import DEADLINE
from support.ws import Peer, connect

from app.keys import ENGINE


def is_message(frame: dict) -> bool:
    return frame["type"] == "message"


async def test_two_clients_chat(start) -> None:
    client = await start()
    ann = await connect(client, channel="lobby", nickname="ann")
    bob = await connect(client, channel="lobby", nickname="bob")
    assert ann.welcome["seq"] == 0 and ann.welcome["channel"] == "lobby"

    # A conversation: each speaks after reading the other.
    received: dict[str, list[dict]] = {"ann": [], "bob": []}
    for speaker, frame in ((ann, {"content": "hello", "id": "a-1"}), (bob, {"content": "hi ann", "id": "b-1"})):
        await speaker.send(type="message", **frame)
        for name, peer in (("ann", ann), ("bob", bob)):
            received[name].append(await peer.expect(is_message))
    await ann.send(type="message", content="how are you?")
    for name, peer in (("ann", ann), ("bob", bob)):
        received[name].append(await peer.expect(is_message))

    for got in received.values():
        assert [m["seq"] for m in got] == [1, 2, 3]
        assert [m["content"] for m in got] == ["hello", "hi ann", "how are you?"]
        assert [m["nickname"] for m in got] == ["ann", "bob", "ann"]
        ann_id, bob_id = ann.welcome["user"]["id"], bob.welcome["user"]["id"]
        assert [m["user_id"] for m in got] == [ann_id, bob_id, ann_id]
        assert all(m["channel"] == "lobby" and m["ts"].endswith("Z") for m in got)
        # The sender's `id` comes back: for the sender, that echo is the acknowledgement.
        assert got[0]["id"] == "a-1" and got[1]["id"] == "b-1" and "id" not in got[2]
    assert await client.app[ENGINE].store.head("lobby") == 3


async def publish(peer: Peer, count: int, *, halfway: asyncio.Event, resume: asyncio.Event, at: int) -> list[int]:
    """Send `count` messages one after the other, each after the previous one's ack (a steady stream
    over time). After the ack of seq `at`, set `halfway` and wait for `resume` before going on."""
    acked: list[int] = []
    for i in range(count):
        await peer.send(type="message", content=f"m{i}", id=f"p{i}")
        ack = await peer.expect(is_message, id=f"p{i}")
        acked.append(ack["seq"])
        if ack["seq"] == at:
            halfway.set()
            await resume.wait()
    return acked


async def test_resume_while_others_keep_publishing(start) -> None:
    # A small replay batch: the resume reads many batches while live events keep arriving.
    client = await start(replay_batch_size=7)
    manager = client.app[ENGINE].manager
    publisher = await connect(client, channel="busy")
    readers = [await connect(client, channel="busy") for _ in range(2)]
    halfway, resume = asyncio.Event(), asyncio.Event()
    leave_at, reconnect_at, total = 10, 40, 300
    task = asyncio.create_task(publish(publisher, total, halfway=halfway, resume=resume, at=reconnect_at))
    for reader in readers:
        seen = [(await reader.expect(is_message))["seq"] for _ in range(leave_at)]
        assert seen == list(range(1, leave_at + 1))
        await reader.close()

    async with asyncio.timeout(DEADLINE):
        await halfway.wait()
    resume.set()  # publishing goes on while the readers reconnect and replay
    from_memory = await connect(client, channel="busy", since=leave_at)
    # Forget the channel's recent frames (as after a restart, or once the memory budget evicted them):
    # this resume reads the database, still racing the live stream.
    manager.recent.runs.pop("busy", None)
    from_store = await connect(client, channel="busy", since=leave_at)
    for back in (from_memory, from_store):
        assert back.welcome["seq"] >= reconnect_at
        seqs = []
        while not seqs or seqs[-1] < total:
            seqs.append((await back.expect(is_message))["seq"])
        assert seqs == list(range(leave_at + 1, total + 1))
    assert await task == list(range(1, total + 1))
    # The live stream after the catch-up, and nothing twice: the next message is total + 1.
    await publisher.send(type="message", content="after")
    for back in (from_memory, from_store):
        assert (await back.expect(is_message))["seq"] == total + 1
    # Resuming concurrently with live traffic must really have overlapped.
    assert from_store.welcome["seq"] < total, "publishing ended before the resume; the test did not race"


async def test_subscribe_since_on_a_second_channel_while_publishing(start) -> None:
    client = await start(replay_batch_size=5)
    publisher = await connect(client, channel="side")
    reader = await connect(client, channel="home")
    halfway, resume = asyncio.Event(), asyncio.Event()
    since, total = 25, 250
    task = asyncio.create_task(publish(publisher, total, halfway=halfway, resume=resume, at=since + 20))
    async with asyncio.timeout(DEADLINE):
        await halfway.wait()
    resume.set()
    await reader.send(type="subscribe", channel="side", since=since)
    subscribed, skipped = await reader.until("subscribed", channel="side")
    assert subscribed["seq"] >= since + 20
    assert not [f for f in skipped if f["type"] == "message"], "an event came before `subscribed`"
    seqs = []
    while not seqs or seqs[-1] < total:
        frame = await reader.expect(is_message, channel="side")
        seqs.append(frame["seq"])
    assert seqs == list(range(since + 1, total + 1))
    await task
    assert subscribed["seq"] < total, "publishing ended before the subscribe; the test did not race"


async def test_retry_after_reconnect_is_idempotent(start) -> None:
    client = await start()
    guest = await connect(client, channel="retry", nickname="gus")
    other = await connect(client, channel="retry", nickname="olga")
    guest_token = guest.welcome["token"]
    user_id = guest.welcome["user"]["id"]

    await guest.send(type="message", content="once", id="x")
    first = await guest.expect(is_message, id="x")
    assert first["seq"] == 1
    assert (await other.expect(is_message))["seq"] == 1
    await guest.close()

    again = await connect(client, channel="retry", token=guest_token, since=1)
    assert again.welcome["user"]["id"] == user_id and "token" not in again.welcome
    await again.send(type="message", content="once", id="x")
    retried = await again.expect(is_message, id="x")
    assert (retried["seq"], retried["content"], retried["user_id"]) == (1, "once", user_id)
    assert await client.app[ENGINE].store.head("retry") == 1

    # The next new message is seq 2, and the other client sees it right after seq 1: never seq 1 twice.
    await again.send(type="message", content="twice?", id="y")
    assert (await again.expect(is_message, id="y"))["seq"] == 2
    frame, skipped = await other.until(is_message)
    assert frame["seq"] == 2 and frame["id"] == "y"
    assert not [f for f in skipped if f["type"] == "message"]


async def test_a_dm_to_a_user_id_with_a_nul_is_refused_and_makes_no_conversation(start) -> None:
    # Found by tests/hardening/test_fuzz_ws.py: the DM's channel and members were stored before its
    # message was refused for the NUL in its `to`.
    client = await start()
    engine = client.app[ENGINE]
    sender = await connect(client, nickname="sender")
    await sender.expect("rooms")  # its own room made
    before = {info.name for info in await engine.store.list_channels()}
    for target, content in (("user:a\x00b", "hi"), ("user:c", "h\x00i")):
        await sender.send(type="private", target=target, content=content, id="p1")
        refused = await sender.expect("error")
        assert refused["code"] == "bad_request" and "NUL" in refused["message"], refused
    assert {info.name for info in await engine.store.list_channels()} == before
