"""A kanban board stormed from two `collab serve` processes on one database: no command the board at the
head refuses is ever accepted, whichever node receives it (docs/boards.md, "Several server processes").

Clients on both nodes send conflicting commands from their own, possibly stale, views: the same card
ids added on both nodes, edits and moves of cards the other node removes, edits based on a version the
other node moved on. At the end the log, replayed with the server's projections, is a board where every
stored event was valid when it was stored, every accepted command is in the log once and no refused one
is; and clients on both nodes see that board."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest
from support.boards import Replica, canonical
from support.waiting import eventually
from support.ws import Peer, connect

from collab.boards.kanban import CARD_FIELDS
from collab.engine import PROJECTIONS
from collab.events import StoredEvent
from collab.store.sql import SqlEventStore

pytestmark = pytest.mark.postgres

COMMANDS_EACH = 150
CLIENTS_PER_NODE = 2
COLUMNS = ("c1", "c2")
# A small pool of card ids, so both nodes add (and remove, and edit) the same cards all the time.
CARDS = [f"k{n}" for n in range(6)]


class StormClient:
    """A page on one node: its view of the board (every frame folded as a page does, which also checks
    the stream has no gap), the commands it sent and the answer each got."""

    def __init__(self, peer: Peer, channel: str, name: str, seed: int) -> None:
        self.peer = peer
        self.name = name
        self.replica = Replica(PROJECTIONS.for_channel(channel), channel)
        self.random = random.Random(seed)
        self.sent: dict[str, dict[str, Any]] = {}
        self.answers: dict[str, dict[str, Any]] = {}
        self.read = 0

    def pump(self) -> None:
        self.replica.take(self.peer.frames[self.read :])
        self.read = len(self.peer.frames)

    async def command(self, frame: dict[str, Any]) -> dict[str, Any]:
        op_id = f"{self.name}-{len(self.sent)}"
        self.sent[op_id] = frame
        await self.peer.send(**frame, id=op_id)
        answer = await self.peer.expect(lambda f: f.get("id") == op_id and f["type"] != "pong", within=30)
        self.answers[op_id] = answer
        self.pump()
        return answer

    def next_command(self) -> dict[str, Any]:
        """A command chosen from this page's view, which may be stale by the time it arrives."""
        cards = self.replica.state["cards"]
        known = self.random.choice(sorted(cards)) if cards and self.random.random() < 0.8 else None
        card = known or self.random.choice(CARDS)
        roll = self.random.random()
        if roll < 0.3:
            column = self.random.choice(COLUMNS)
            return {"type": "card_add", "card": self.random.choice(CARDS), "column": column, "title": self.name}
        if roll < 0.55:
            version = cards[card]["version"] if card in cards else 1
            return {"type": "card_edit", "card": card, "title": f"{self.name} {roll:.3f}", "version": version}
        if roll < 0.65:
            return {"type": "card_edit", "card": card, "labels": [self.name]}  # no version: last writer wins
        if roll < 0.8:
            return {"type": "card_move", "card": card, "column": self.random.choice(COLUMNS), "position": 0}
        return {"type": "card_remove", "card": card}


def check_log(log: list[StoredEvent], sent: dict[str, dict[str, Any]]) -> Any:
    """Replay the log, checking each event against the board before it as the server must have; the board."""
    projection = PROJECTIONS.for_channel(log[0].channel)
    board = projection.initial()
    last_change: dict[str, dict[str, int]] = {}  # card → field → the version whose edit set its value
    for event in log:
        cards, columns, data = board["cards"], board["columns"], event.data
        where = f"seq {event.seq} ({event.type} {data}, op {event.op_id})"
        if event.type == "column_added":
            assert data["column"] not in columns, f"a column added twice: {where}"
        if event.type == "card_added":
            assert data["card"] not in cards, f"a card added twice: {where}"
            assert data["column"] in columns, where
        if event.type in ("card_edited", "card_moved", "card_removed"):
            assert data["card"] in cards, f"a change of a card that was not there: {where}"
        if event.type == "card_moved":
            assert data["column"] in columns, where
        version = sent.get(event.op_id or "", {}).get("version")
        if event.type == "card_edited" and version is not None:
            # A stale version is accepted only when no field of the edit was changed since to another value
            # (docs/boards.md: edits merge field by field); `last_change` is this checker's own record.
            changes = last_change.setdefault(data["card"], {})
            for field in CARD_FIELDS:
                if field in data and data[field] != cards[data["card"]][field]:
                    assert changes.get(field, 1) <= version, f"an edit overwrote a change it had not seen: {where}"
        if event.type == "card_edited" and data["card"] in cards:
            changes = last_change.setdefault(data["card"], {})
            for field in CARD_FIELDS:
                if field in data and data[field] != cards[data["card"]][field]:
                    changes[field] = cards[data["card"]]["version"] + 1
        if event.type in ("card_added", "card_removed"):
            last_change.pop(data["card"], None)
        board = projection.apply(board, event)
    return board


async def test_a_board_storm_on_two_nodes_accepts_nothing_the_board_refuses(nodes, http, cluster_database) -> None:
    servers = nodes(2)
    channel = f"kanban:{uuid.uuid4().hex[:8]}"
    clients: list[StormClient] = []
    for n in range(CLIENTS_PER_NODE * len(servers)):
        peer = await connect(http(servers[n % len(servers)]), channel=channel, nickname=f"p{n}")
        client = StormClient(peer, channel, f"p{n}", seed=n)
        await peer.expect("state")
        client.pump()
        clients.append(client)
    for column in COLUMNS:
        assert (await clients[0].command({"type": "column_add", "column": column, "title": column}))["seq"]
    for other in clients[1:]:
        await eventually(
            lambda c=other: c.peer.barrier(),
            lambda _, c=other: c.pump() or len(c.replica.state["columns"]) == 2,
            "columns",
        )

    async def storm(client: StormClient) -> None:
        for _ in range(COMMANDS_EACH):
            await client.command(client.next_command())

    await asyncio.gather(*(storm(client) for client in clients))

    sent = {op: frame for client in clients for op, frame in client.sent.items()}
    answers = {op: answer for client in clients for op, answer in client.answers.items()}
    accepted = {op: answer["seq"] for op, answer in answers.items() if answer["type"] != "error"}
    refused = {op: answer["code"] for op, answer in answers.items() if answer["type"] == "error"}
    assert set(refused.values()) <= {"conflict", "not_found"}, refused

    store = await SqlEventStore.open(cluster_database)
    try:
        log = await store.read(channel)
    finally:
        await store.close()
    board = canonical(check_log(log, sent))
    stored_ops = [event.op_id for event in log if event.op_id is not None]
    assert len(stored_ops) == len(set(stored_ops)), "an op stored twice"
    assert {event.op_id: event.seq for event in log if event.op_id is not None} == accepted
    assert not set(refused) & set(stored_ops)

    # The storm did make the nodes disagree, in every way the board refuses.
    codes = [(sent[op]["type"], code) for op, code in refused.items()]
    assert ("card_add", "conflict") in codes and ("card_edit", "not_found") in codes, codes
    assert ("card_edit", "conflict") in codes, codes

    # Every page on both nodes sees the board the log replays to, at its head.
    head = log[-1].seq
    for client in clients:
        await eventually(client.peer.barrier, lambda _, c=client: c.pump() or c.replica.seq == head, "the head")
        assert canonical(client.replica.state) == board, client.name
        await client.peer.send(type="sync")
        state = await client.peer.expect("state")
        assert (state["seq"], canonical(state["board"])) == (head, board), client.name
        await client.peer.close()
