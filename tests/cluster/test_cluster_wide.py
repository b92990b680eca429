"""What must hold across nodes besides stored chat: direct messages, relayed frames, documents and their
awareness, and moderation — each with the sender on one `collab serve` and the receiver on another."""

from __future__ import annotations

import uuid

import pytest
from support.auth import token
from support.cluster import Reader
from support.operators import OPERATOR
from support.waiting import eventually, wait_for
from support.ws import connect
from support.yjs import Changes, YClient

pytestmark = pytest.mark.postgres


async def test_a_direct_message_reaches_the_user_on_another_node(nodes, http) -> None:
    one, two = nodes(2)
    ann = await connect(http(one), channel="lobby", token=token("ann"))
    bob = await connect(http(two), channel="lobby", token=token("bob"))
    bobs = Reader(bob)
    await ann.send(type="private", target="user:bob", content="psst", id="dm-1")
    await ann.expect("private", id="dm-1")  # the sender's acknowledgement
    await wait_for(lambda: any(f["type"] == "private" for f in bobs.frames), what="bob's direct message")
    [dm] = [f for f in bobs.frames if f["type"] == "private"]
    assert dm["content"] == "psst" and dm["user_id"] == "ann" and dm["to"] == "bob"
    await bobs.stop()


async def test_strokes_in_progress_cross_nodes_without_being_stored(nodes, http) -> None:
    one, two = nodes(2)
    board = f"draw:{uuid.uuid4().hex[:6]}"
    ann = await connect(http(one), channel=board, token=token("ann"))
    bob = await connect(http(two), channel=board, token=token("bob"))
    bobs = Reader(bob)
    await ann.send(type="stroke_points", stroke="s1", points=[[1, 2], [3, 4]], color="#112233", width=3)
    await wait_for(lambda: any(f["type"] == "stroke_points" for f in bobs.frames), what="the relayed points")
    [points] = [f for f in bobs.frames if f["type"] == "stroke_points"]
    assert points["points"] == [[1, 2], [3, 4]] and points["user_id"] == "ann"
    assert "seq" not in points  # relayed, not stored
    await bobs.stop()


async def test_documents_converge_with_clients_on_different_nodes(nodes, http) -> None:
    one, two = nodes(2)
    name = f"notes-{uuid.uuid4().hex[:6]}"
    changes = Changes()
    ann = await YClient.open(http(one), name, changes, token=token("ann"))
    bob = await YClient.open(http(two), name, changes, token=token("bob"))
    for n in range(20):
        await ann.insert(0, f"a{n} ")
        await bob.insert(0, f"b{n} ")
    await changes.until(
        lambda: str(ann.text) == str(bob.text) and len(str(ann.text)) == sum(len(f"a{n} ") * 2 for n in range(20)),
        "both texts to hold all 40 inserts",
    )
    # Awareness (never stored) crosses too.
    await ann.send_awareness(4242, 1, {"user": {"name": "Ann"}})
    await changes.until(lambda: bob.awareness.get(4242) == {"user": {"name": "Ann"}}, "ann's awareness at bob")
    await ann.disconnect()
    await bob.disconnect()


async def test_a_kick_on_one_node_closes_the_users_sockets_on_the_other(nodes, http) -> None:
    one, two = nodes(2)
    eve = await connect(http(two), channel="lobby", token=token("eve", jti="eve-1"))
    response = await http(one).post("/api/moderation/kick", json={"user_id": "eve"}, headers=OPERATOR)
    assert response.status == 200, await response.text()
    code, frames = await eve.closed(within=5)
    assert code == 1008 and frames[-1]["type"] == "error", frames


async def test_a_room_made_on_one_node_is_listed_on_the_other_with_its_unread_count(nodes, http) -> None:
    one, two = nodes(2)
    room = f"room-{uuid.uuid4().hex[:6]}"
    ann = await connect(http(one), channel="lobby", token=token("ann"))
    bob = Reader(await connect(http(two), channel="lobby", token=token("bob")))

    def listed() -> set[str]:
        lists = [f for f in bob.frames if f["type"] == "rooms"]
        return {r["name"] for r in lists[-1]["rooms"]} if lists else set()

    await ann.send(type="create_room", name=room, id="make")
    await wait_for(lambda: room in listed(), what="the new room in bob's list")
    await ann.send(type="subscribe", channel=room)
    await ann.expect("subscribed", channel=room)
    await ann.send(type="message", channel=room, content="news", id="n1")
    await wait_for(
        lambda: any(f["type"] == "heads" and f["heads"].get(room) == 1 for f in bob.frames),
        what="the room's head at bob (his unread count)",
    )
    await bob.stop()


async def test_a_connection_on_another_node_can_be_kicked_by_its_client_id(nodes, http) -> None:
    one, two = nodes(2)
    eve_token = token("eve", jti="eve-7")
    eve = await connect(http(two), channel="lobby", token=eve_token)
    response = await http(one).post("/api/moderation/kick", json={"client_id": eve.client_id}, headers=OPERATOR)
    assert response.status == 200, await response.text()
    code, _ = await eve.closed(within=5)
    assert code == 1008

    # Its token is revoked where it was known (just after the close): the node refuses it from then on.
    async def comes_back() -> bool:
        ws = await http(two).ws_connect("/ws", params={"channel": "lobby", "token": eve_token})
        first = await ws.receive_json(timeout=5)
        await ws.close()
        return first["type"] == "welcome"

    await eventually(comes_back, lambda welcomed: not welcomed, "eve's token to be refused")


async def test_a_revocation_on_one_node_closes_sockets_on_the_other(nodes, http) -> None:
    one, two = nodes(2)
    mallory = await connect(http(two), channel="lobby", token=token("mallory", jti="m-1"))
    response = await http(one).post("/api/moderation/revoke", json={"jti": "m-1"}, headers=OPERATOR)
    assert response.status == 200, await response.text()
    code, _ = await mallory.closed(within=5)
    assert code == 1008


async def test_a_backend_publishing_on_one_node_reaches_sockets_on_another(nodes, http) -> None:
    """The publish API goes through the store and the broker: a subscriber on another node gets the event
    once, a broadcast reaches every socket on every node, and a retry sent to the other node stores nothing."""
    one, two = nodes(2)
    channel = f"orders-{uuid.uuid4().hex[:6]}"
    ann = await connect(http(two), channel=channel, token=token("ann"))
    cid = await connect(http(one), channel="elsewhere", token=token("cid"))
    anns, cids = Reader(ann), Reader(cid)
    service = {"Authorization": f"Bearer {token('shop', roles=['service'])}"}
    body = {"event": "order_paid", "data": {"order": 7}, "id": "paid-7"}
    sent = await http(one).post(f"/api/channels/{channel}/events", json=body, headers=service)
    assert sent.status == 201, await sent.text()
    event = await sent.json()
    retried = await http(two).post(f"/api/channels/{channel}/events", json=body, headers=service)
    assert retried.status == 200 and await retried.json() == event
    shout = await http(two).post("/api/broadcast", json={"event": "notice", "data": "hi all"}, headers=service)
    assert shout.status == 201, await shout.text()
    notice = await shout.json()
    await wait_for(
        lambda: event in anns.frames and notice in anns.frames and notice in cids.frames,
        what="the event on node two, the broadcast on both nodes",
    )
    assert [f for f in anns.frames if f.get("channel") == channel and f["type"] == "event"] == [event]
    assert not any(f.get("channel") == channel for f in cids.frames)
    await anns.stop()
    await cids.stop()
