"""A retry whose stored event this client's stream has not reached yet is answered by that stream, in
seq order: an echo sent ahead of the events before it looks like a gap to a client (the pages resync on
one). It happens when another process committed the seq before it and has not published it yet."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.boards import ANN, BOB, Client, Cluster

from collab.boards import drawing
from collab.boards.drawing import DRAWING
from collab.events import NewEvent

STROKE = {"points": [[1, 2]], "color": "#123456", "width": 3}


@pytest.fixture
async def cluster(database_url: str) -> AsyncIterator[Cluster]:
    cluster = await Cluster.open(database_url)
    try:
        yield cluster
    finally:
        await cluster.close()


async def test_a_retry_ahead_of_the_stream_is_answered_by_the_stream(cluster: Cluster) -> None:
    channel = "draw:retry-order"
    ann, bob = Client(cluster.nodes[0], ANN, channel), Client(cluster.nodes[0], BOB, channel)
    await ann.connect()
    await bob.connect()
    await ann.send(type="stroke_add", stroke="s1", **STROKE, id="a1")
    # Another process has committed seq 2 and not published it yet.
    [(kind, data)] = drawing.decide(DRAWING.initial(), {"type": "stroke_add", "stroke": "s2", **STROKE}, BOB.id)
    other = await cluster.store.append(NewEvent(channel, kind, data, user_id=BOB.id, nickname=BOB.name))
    await ann.send(type="stroke_add", stroke="s3", **STROKE, id="a2")  # seq 3, held behind seq 2
    await ann.send(type="stroke_add", stroke="s3", **STROKE, id="a2")  # its retry: nothing yet
    assert ann.replica.seq == 1 and not [f for f in ann.pump() if f.get("id") == "a2"]

    cluster.broker.publish(other.event)  # the other process publishes: 2 then 3 come, in order
    await ann.send(type="stroke_add", stroke="s3", **STROKE, id="a2")  # a retry now: its echo again
    echoes = [f["seq"] for f in ann.transport.frames if f.get("id") == "a2"]
    assert echoes == [3, 3]
    bob.pump()
    for client in (ann, bob):
        assert client.replica.seq == 3
        client.check_streams()
        assert [s["id"] for s in client.replica.state["strokes"]] == ["s1", "s2", "s3"]


async def test_a_retry_of_a_chat_message_ahead_of_the_stream_waits_for_it(cluster: Cluster) -> None:
    node = cluster.nodes[0]
    ann = Client(node, ANN, "general")
    await ann.connect()
    await ann.send(type="message", content="hello", id="m0")
    other = await cluster.store.append(NewEvent("general", "message", {"content": "first"}, user_id=BOB.id))
    frame = {"type": "message", "content": "second", "id": "m1"}
    await ann.send(**frame)
    await ann.send(**frame)
    assert not [f for f in ann.transport.frames if f.get("id") == "m1"]
    cluster.broker.publish(other.event)
    await ann.send(**frame)
    stored = [(f["seq"], f.get("id")) for f in ann.transport.frames if f.get("type") == "message"]
    assert stored[-3:] == [(other.event.seq, None), (other.event.seq + 1, "m1"), (other.event.seq + 1, "m1")]


async def test_a_fresh_join_while_an_event_is_unpublished_gets_a_state_that_holds_it(cluster: Cluster) -> None:
    """The join reads the head from the log, where another process's commit already is; this process's
    board has not been delivered it yet. A `state` behind the head the socket starts from would lose that
    event: its delivery is dropped as one the socket has had."""
    channel = "draw:fresh-join"
    ann, bob = Client(cluster.nodes[0], ANN, channel), Client(cluster.nodes[0], BOB, channel)
    await ann.connect()
    await ann.send(type="stroke_add", stroke="s1", **STROKE, id="a1")
    [(kind, data)] = drawing.decide(DRAWING.initial(), {"type": "stroke_add", "stroke": "s2", **STROKE}, BOB.id)
    other = await cluster.store.append(NewEvent(channel, kind, data, user_id=BOB.id, nickname=BOB.name))
    await bob.connect(resume=False)
    cluster.broker.publish(other.event)
    await ann.send(type="stroke_add", stroke="s3", **STROKE, id="a2")
    for client in (ann, bob):
        client.pump()
        assert client.replica.seq == 3
        client.check_streams()
        assert [s["id"] for s in client.replica.state["strokes"]] == ["s1", "s2", "s3"]
