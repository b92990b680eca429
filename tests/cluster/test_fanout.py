"""Events stored on one node reach every subscriber on every node once, in seq order, with no gap —
across a listener cut off by the database and across a node killed under load."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

import pytest
from support.cluster import Reader, allow_connections, health, messages, seqs_in_order, terminate_listeners
from support.waiting import eventually, wait_for
from support.ws import connect

pytestmark = pytest.mark.postgres


async def test_chat_reaches_every_node_in_seq_order(nodes, http) -> None:
    one, two = nodes(2)
    channel = f"room-{uuid.uuid4().hex[:6]}"
    ann = await connect(http(one), channel=channel, nickname="ann")
    bob = await connect(http(two), channel=channel, nickname="bob")
    bobs, anns = Reader(bob), Reader(ann)
    for n in range(30):
        await ann.send(type="message", content=f"from ann {n}", id=f"a{n}")
        await bob.send(type="message", content=f"from bob {n}", id=f"b{n}")
    await wait_for(lambda: len(messages(bobs.frames, channel)) == 60, what="bob to get all 60")
    await wait_for(lambda: len(messages(anns.frames, channel)) == 60, what="ann to get all 60")
    assert seqs_in_order(bobs.frames, channel) == list(range(1, 61))
    assert seqs_in_order(anns.frames, channel) == list(range(1, 61))
    # Each sender's messages in the order sent, interleaved as the log has them: both saw the same log.
    assert [f["content"] for f in messages(bobs.frames, channel)] == [
        f["content"] for f in messages(anns.frames, channel)
    ]
    await bobs.stop()
    await anns.stop()


async def test_a_listener_cut_off_catches_up_from_the_log(nodes, http, cluster_database) -> None:
    one, two = nodes(2)
    channel = f"room-{uuid.uuid4().hex[:6]}"
    ann = await connect(http(one), channel=channel, nickname="ann")
    bob = await connect(http(two), channel=channel, nickname="bob")
    bobs = Reader(bob)
    total = 300

    async def send_all() -> None:
        for n in range(total):
            await ann.send(type="message", content=f"m{n}", id=f"m{n}")
            await asyncio.sleep(0.003)

    sending = asyncio.create_task(send_all())
    await wait_for(lambda: len(messages(bobs.frames, channel)) >= 50, what="the first 50 at bob")
    assert await terminate_listeners(cluster_database) == 2
    await sending
    await wait_for(lambda: len(messages(bobs.frames, channel)) >= total, within=30, what="bob to catch up")
    assert seqs_in_order(bobs.frames, channel) == list(range(1, total + 1))
    await eventually(lambda: health(http(two)), lambda answer: answer[0] == 200, "node two to be ready again")
    await bobs.stop()


async def test_a_killed_node_loses_nothing_acknowledged(nodes, http) -> None:
    one, two = nodes(2)
    channel = f"room-{uuid.uuid4().hex[:6]}"
    watcher = await connect(http(two), channel=channel, nickname="watcher")
    watched = Reader(watcher)
    ann = await connect(http(one), channel=channel, nickname="ann")
    anns = Reader(ann)
    sent: list[str] = []

    async def send_until_cut() -> None:
        n = 0
        while True:
            op = f"k{n}"
            sent.append(op)
            try:
                await ann.send(type="message", content=op, id=op)
            except (ConnectionError, RuntimeError):
                return
            n += 1
            await asyncio.sleep(0.002)

    sending = asyncio.create_task(send_until_cut())
    await wait_for(lambda: len(messages(anns.frames, channel)) >= 100, what="100 acknowledgements")
    one.kill()
    await asyncio.wait_for(sending, 10)
    await anns.stop()
    acked = {f["id"]: f["seq"] for f in messages(anns.frames, channel) if f.get("user_id") == ann.welcome["user"]["id"]}
    last_seen = max(f["seq"] for f in messages(anns.frames, channel))
    # The client comes back on the other node with the guest token it was given, resumes after what it
    # saw and sends again whatever it has no acknowledgement for (same ids: stored once).
    again = await connect(http(two), channel=channel, token=ann.welcome["token"], since=last_seen)
    agains = Reader(again)
    unacked = [op for op in sent if op not in acked]
    for op in unacked:
        await again.send(type="message", content=op, id=op)
    await wait_for(
        lambda: {f["id"] for f in messages(agains.frames, channel)} >= set(unacked), what="the resent acknowledged"
    )
    stored_ids = [f["id"] for f in messages(agains.frames, channel)] + [
        f["id"] for f in messages(anns.frames, channel) if f["seq"] <= last_seen
    ]
    assert set(acked) <= set(stored_ids), "an acknowledged message is missing"
    # The watcher on the surviving node saw every stored message once, in order, with no gap.
    head = max(f["seq"] for f in messages(agains.frames, channel)) if unacked else last_seen
    await wait_for(lambda: len(messages(watched.frames, channel)) >= head, what="the watcher to see everything")
    assert seqs_in_order(watched.frames, channel) == list(range(1, head + 1))
    assert len({f["id"] for f in messages(watched.frames, channel)}) == head, "a message was stored twice"
    await watched.stop()
    await agains.stop()


async def test_what_was_committed_while_a_listener_was_cut_arrives_with_no_later_traffic(
    nodes, http, cluster_database
) -> None:
    """The reconnected listener reads every channel it knows up to its head: nothing committed while it
    was deaf waits for a later notification to be noticed."""
    one, two = nodes(2)
    channel = f"room-{uuid.uuid4().hex[:6]}"
    ann = await connect(http(one), channel=channel, nickname="ann")
    bob = await connect(http(two), channel=channel, nickname="bob")
    bobs = Reader(bob)
    await ann.send(type="message", content="before", id="before")
    await wait_for(lambda: len(messages(bobs.frames, channel)) == 1, what="the first message at bob")
    anns = Reader(ann)
    # As in a database restart: the listeners are cut and cannot come back for a while (connections
    # already open, such as node one's writer's, go on).
    await allow_connections(cluster_database, False)
    try:
        assert await terminate_listeners(cluster_database) == 2
        for n in range(100):
            await ann.send(type="message", content=f"deaf {n}", id=f"d{n}")
        await wait_for(lambda: len(messages(anns.frames, channel)) == 101, what="ann's burst to be stored")
        # Node two is deaf: its listener is down (noticed a moment after the cut, later on a busy
        # machine) and cannot come back while connections are refused.
        await eventually(
            lambda: health(http(two)),
            lambda answer: answer[0] == 503 and answer[1]["broker"]["state"] == "reconnecting",
            "node two to report its listener down",
        )
    finally:
        await allow_connections(cluster_database, True)
    await wait_for(lambda: len(messages(bobs.frames, channel)) == 101, within=30, what="bob to catch up")
    assert seqs_in_order(bobs.frames, channel) == list(range(1, 102))
    await bobs.stop()
    await anns.stop()


async def test_a_paused_node_delivers_what_it_missed_when_it_wakes(nodes, http) -> None:
    one, two = nodes(2)
    channel = f"room-{uuid.uuid4().hex[:6]}"
    ann = await connect(http(one), channel=channel, nickname="ann")
    bob = await connect(http(two), channel=channel, nickname="bob")
    anns, bobs = Reader(ann), Reader(bob)
    assert two.process is not None
    os.kill(two.process.pid, signal.SIGSTOP)
    try:
        for n in range(100):
            await ann.send(type="message", content=f"while asleep {n}", id=f"z{n}")
        await wait_for(lambda: len(messages(anns.frames, channel)) == 100, what="ann's messages to be stored")
    finally:
        os.kill(two.process.pid, signal.SIGCONT)
    await wait_for(lambda: len(messages(bobs.frames, channel)) == 100, within=30, what="bob to get them all")
    assert seqs_in_order(bobs.frames, channel) == list(range(1, 101))
    await anns.stop()
    await bobs.stop()
