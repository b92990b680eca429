"""Commands are decided at the board's head, whichever server process receives them: two engines on one
database whose brokers do not talk (the worst case of a broker that has not delivered yet) never both
accept commands the board refuses. The real-process storm is tests/cluster/test_boards.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from support.boards import ANN, BOB, FakeTransport, Node, canonical, flushed
from support.closing import opened

from collab.boards.drawing import DRAWING
from collab.boards.kanban import KANBAN
from collab.engine import Engine
from collab.realtime.session import Session
from collab.users import User


@pytest.fixture
async def deaf_nodes(database_url: str) -> AsyncIterator[tuple[Node, Node]]:
    """Two engines on one database, each with a broker of its own: neither hears the other's commits."""
    async with (
        opened(Engine.open(database_url, broker="memory")) as one,
        opened(Engine.open(database_url, broker="memory")) as two,
    ):
        yield Node(one), Node(two)


class Client:
    """A session on a node. Not `support.boards.Client`: its replica rightly refuses the gaps a deaf
    node's clients see (a real broker fills them from the log)."""

    def __init__(self, node: Node, user: User, channel: str) -> None:
        self.node, self.user, self.channel = node, user, channel
        self.transport = FakeTransport()
        self.session = Session(self.transport, user)
        self.sent_at: dict[str, int] = {}  # op id → how many frames had come when it was sent

    async def connect(self) -> None:
        self.session.set_attr("home", self.channel)
        await self.node.engine.connect(self.session, self.channel, None, announce=lambda head: None)
        await flushed()

    async def send(self, **frame: Any) -> None:
        self.sent_at[frame["id"]] = len(self.transport.frames)
        await self.node.dispatcher.handle(self.session, frame)
        await flushed()


def answer(client: Client, op_id: str) -> dict[str, Any]:
    """The one frame that answered command `op_id`: its echo or its error (a join may have replayed an
    event with that id before)."""
    found = [f for f in client.transport.frames[client.sent_at[op_id] :] if f.get("id") == op_id]
    assert len(found) == 1, (op_id, found)
    return found[0]


async def test_kanban_commands_are_decided_at_the_head_on_every_node(deaf_nodes: tuple[Node, Node]) -> None:
    one, two = deaf_nodes
    channel = "kanban:shared"
    ann, bob = Client(one, ANN, channel), Client(two, BOB, channel)
    await ann.connect()
    await bob.connect()

    await ann.send(type="column_add", column="c1", title="To do", id="a1")
    # Bob's node has not heard of c1: it reads the log before it refuses.
    await bob.send(type="card_add", card="k1", column="c1", title="One", id="b1")
    assert answer(bob, "b1")["seq"] == 2
    # The same card id on the other node, which has not heard of k1 either: refused.
    await ann.send(type="card_add", card="k1", column="c1", title="Again", id="a2")
    assert answer(ann, "a2")["code"] == "conflict"
    # Bob retries b1 from the other node (a reconnect): the stored event, not a conflict.
    bob_on_one = Client(one, BOB, channel)
    await bob_on_one.connect()
    await bob_on_one.send(type="card_add", card="k1", column="c1", title="One", id="b1")
    assert answer(bob_on_one, "b1")["seq"] == 2

    # An edit of a card the other node removed: bob's node still has k1.
    await ann.send(type="card_remove", card="k1", id="a3")
    await bob.send(type="card_edit", card="k1", title="Edited", id="b2")
    assert answer(bob, "b2")["code"] == "not_found"

    # A stale version: ann's edit makes k2 version 2; bob's node still has version 1.
    await bob.send(type="card_add", card="k2", column="c1", title="Two", id="b3")
    await ann.send(type="card_edit", card="k2", title="Ann's", version=1, id="a4")
    assert answer(ann, "a4")["type"] == "card_edited"
    await bob.send(type="card_edit", card="k2", title="Bob's", version=1, id="b4")
    refused = answer(bob, "b4")
    assert (refused["code"], refused["card"]["version"], refused["card"]["title"]) == ("conflict", 2, "Ann's")

    # A command valid at the head is stored after what the node had not heard of.
    await bob.send(type="card_edit", card="k2", title="Bob's", version=2, id="b5")
    assert answer(bob, "b5")["seq"] == 6

    store = one.engine.store
    log = await store.read(channel)
    assert [(e.seq, e.op_id) for e in log] == [(1, "a1"), (2, "b1"), (3, "a3"), (4, "b3"), (5, "a4"), (6, "b5")]
    replay = canonical(KANBAN.fold(KANBAN.initial(), log))
    assert replay["cards"]["k2"]["version"] == 3 and "k1" not in replay["cards"]
    for node in (one, two):
        live = await node.kanban.live.catch_up(channel)
        assert (live.seq, canonical(live.state)) == (6, replay)


async def test_a_stroke_id_is_taken_once_across_nodes(deaf_nodes: tuple[Node, Node]) -> None:
    one, two = deaf_nodes
    channel = "draw:shared"
    ann, bob = Client(one, ANN, channel), Client(two, BOB, channel)
    await ann.connect()
    await bob.connect()
    stroke = {"type": "stroke_add", "stroke": "s1", "points": [[0, 0], [1, 1]], "color": "#123456", "width": 3}
    await ann.send(**stroke, id="a1")
    await bob.send(**stroke, id="b1")
    assert answer(ann, "a1")["seq"] == 1
    assert answer(bob, "b1")["code"] == "conflict"
    # Undo on bob's node takes bob's own stroke only: he has none on the board.
    await bob.send(type="undo", id="b2")
    assert answer(bob, "b2")["code"] == "not_found"
    log = await one.engine.store.read(channel)
    assert [e.op_id for e in log] == ["a1"]
    assert len(DRAWING.fold(DRAWING.initial(), log)["strokes"]) == 1
