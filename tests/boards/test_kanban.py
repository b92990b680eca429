"""Kanban commands against the engine on every store: validation, conflicts, retries, ranks."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from support.boards import ANN, BOB, READER, Client, Cluster, canonical

from collab.boards.kanban import KANBAN, column_cards
from collab.boards.ranks import MAX_RANK_LENGTH


def board() -> str:
    return f"kanban:{uuid.uuid4().hex[:8]}"


async def seeded(cluster: Cluster, channel: str) -> Client:
    """A client on a board with columns todo, doing and cards a, b, c in todo."""
    ann = Client(cluster.nodes[0], ANN, channel)
    await ann.connect()
    await ann.send(type="column_add", column="todo", title="To do")
    await ann.send(type="column_add", column="doing", title="Doing")
    for card in "abc":
        await ann.send(type="card_add", card=card, column="todo", title=f"Card {card}")
    assert not ann.errors
    return ann


def order(state: dict[str, Any], column: str) -> list[str]:
    return [card["id"] for card in column_cards(state, column)]


BAD_COMMANDS = [
    ({"type": "card_move", "card": "nope", "column": "todo", "position": 0}, "not_found"),
    ({"type": "card_move", "card": "a", "column": "nope", "position": 0}, "not_found"),
    ({"type": "card_move", "card": "a", "column": "doing", "position": 1}, "bad_request"),
    ({"type": "card_move", "card": "a", "column": "todo", "position": 3}, "bad_request"),
    ({"type": "card_move", "card": "a", "column": "todo", "position": -1}, "bad_request"),
    ({"type": "card_move", "card": "a", "column": "todo", "position": True}, "bad_request"),
    ({"type": "card_move", "card": "a", "column": "todo"}, "bad_request"),
    ({"type": "card_add", "column": "todo"}, "bad_request"),
    ({"type": "card_add", "column": "todo", "title": "   "}, "bad_request"),
    ({"type": "card_add", "column": "todo", "title": "x" * 301}, "bad_request"),
    ({"type": "card_add", "column": "todo", "title": "x", "labels": "bug"}, "bad_request"),
    ({"type": "card_add", "column": "todo", "title": "x", "labels": ["x" * 41]}, "bad_request"),
    ({"type": "card_add", "column": "todo", "title": "x", "assignee": 7}, "bad_request"),
    ({"type": "card_add", "column": "todo", "title": "x", "position": 4}, "bad_request"),
    ({"type": "card_add", "card": "a", "column": "todo", "title": "again"}, "conflict"),
    ({"type": "card_add", "card": "bad id!", "column": "todo", "title": "x"}, "bad_request"),
    ({"type": "card_add", "column": "ghost", "title": "x"}, "not_found"),
    ({"type": "card_edit", "card": "a"}, "bad_request"),
    ({"type": "card_edit", "card": "a", "title": ""}, "bad_request"),
    ({"type": "card_edit", "card": "a", "title": "t", "version": 0}, "bad_request"),
    ({"type": "card_edit", "card": "ghost", "title": "t"}, "not_found"),
    ({"type": "card_remove", "card": "ghost"}, "not_found"),
    ({"type": "card_remove"}, "bad_request"),
    ({"type": "column_add", "title": ""}, "bad_request"),
    ({"type": "column_add", "column": "todo", "title": "again"}, "conflict"),
    ({"type": "column_rename", "column": "ghost", "title": "x"}, "not_found"),
    ({"type": "column_move", "column": "todo", "position": 2}, "bad_request"),
    ({"type": "column_remove", "column": "ghost"}, "not_found"),
    ({"type": "stroke_add", "stroke": "s"}, "bad_request"),
]


async def test_invalid_commands_get_an_error_and_store_nothing(cluster: Cluster) -> None:
    channel = board()
    ann = await seeded(cluster, channel)
    head = await cluster.store.head(channel)
    before = canonical(ann.replica.state)
    for n, (frame, code) in enumerate(BAD_COMMANDS):
        await ann.send(**frame, id=f"op-{n}")
        error = ann.errors.pop()
        assert (error["code"], error["id"]) == (code, f"op-{n}"), (frame, error)
        assert not ann.errors
    assert await cluster.store.head(channel) == head
    assert canonical(ann.replica.state) == before
    assert canonical((await cluster.nodes[0].kanban.live.get(channel)).state) == before


async def test_a_readonly_user_cannot_change_a_board(cluster: Cluster) -> None:
    channel = board()
    await seeded(cluster, channel)
    reader = Client(cluster.nodes[0], READER, channel)
    await reader.connect()
    assert reader.replica.state is not None  # reading is fine
    await reader.send(type="card_remove", card="a", id="x")
    assert reader.errors[-1]["code"] == "forbidden"
    assert "a" in reader.replica.state["cards"]


async def test_an_edit_based_on_a_stale_version_is_a_conflict_with_the_current_card(cluster: Cluster) -> None:
    channel = board()
    ann = await seeded(cluster, channel)
    bob = Client(cluster.nodes[0], BOB, channel)
    await bob.connect()
    assert bob.replica.state["cards"]["a"]["version"] == 1

    await ann.send(type="card_edit", card="a", version=1, title="Ann's title", labels=["bug"], id="e1")
    await ann.send(type="card_move", card="a", column="doing", position=0, id="m1")  # a move keeps the version
    head = await cluster.store.head(channel)
    bob.pump()
    await bob.send(type="card_edit", card="a", version=1, title="Bob's title", id="e2")
    error = bob.errors[-1]
    assert (error["code"], error["id"]) == ("conflict", "e2")
    assert error["card"] == {
        "id": "a",
        "column": "doing",
        "rank": bob.replica.state["cards"]["a"]["rank"],
        "title": "Ann's title",
        "description": "",
        "assignee": None,
        "labels": ["bug"],
        "version": 2,
        "changed": {"title": 2, "description": 1, "assignee": 1, "labels": 2},
    }
    assert error["fields"] == ["title"]
    assert await cluster.store.head(channel) == head
    # Based on the version the conflict showed, the edit goes through; without a version, last writer wins.
    await bob.send(type="card_edit", card="a", version=2, title="Bob's title", id="e3")
    await bob.send(type="card_edit", card="a", description="no version", id="e4")
    assert [e for e in bob.errors if e["id"] in ("e3", "e4")] == []
    card = bob.replica.state["cards"]["a"]
    assert (card["title"], card["description"], card["version"]) == ("Bob's title", "no version", 4)


async def test_edits_of_different_fields_based_on_one_version_merge(cluster: Cluster) -> None:
    """The bug of issue 12: bob's description edit based on version 1 used to conflict with ann's title,
    labels and assignee edit (and "Keep mine" then sent bob's old title, labels and assignee back)."""
    channel = board()
    ann = await seeded(cluster, channel)
    bob = Client(cluster.nodes[0], BOB, channel)
    await bob.connect()
    await ann.send(type="card_edit", card="a", version=1, title="Ann's", labels=["ux"], assignee="ann", id="e1")
    await bob.send(type="card_edit", card="a", version=1, description="Bob's words", id="e2")
    assert bob.errors == []
    card = bob.replica.state["cards"]["a"]
    assert (card["title"], card["labels"], card["assignee"], card["description"]) == (
        "Ann's",
        ["ux"],
        "ann",
        "Bob's words",
    )
    assert (card["version"], card["changed"]) == (3, {"title": 2, "description": 3, "assignee": 2, "labels": 2})
    # A field both changed conflicts, and only that field is named; the same value as now is no conflict.
    await bob.send(type="card_edit", card="a", version=1, title="Bob's", labels=["ux"], id="e3")
    assert (bob.errors[-1]["id"], bob.errors[-1]["fields"]) == ("e3", ["title"])
    await bob.send(type="card_edit", card="a", version=1, title="Ann's", labels=["ux"], id="e4")
    assert bob.errors[-1]["id"] == "e3"
    # A client that sends every field with a stale version conflicts as before, on the fields changed since
    # (e4 stored an edit that changed no value: version 4, nothing new to conflict with).
    assert bob.replica.state["cards"]["a"]["version"] == 4
    await ann.send(type="card_edit", card="a", version=2, title="t", description="", assignee=None, labels=[], id="e5")
    assert (ann.errors[-1]["id"], ann.errors[-1]["fields"]) == ("e5", ["description"])


async def test_a_retried_command_is_answered_with_the_stored_event(cluster: Cluster) -> None:
    channel = board()
    ann = await seeded(cluster, channel)
    await ann.send(type="card_add", card="d", column="doing", title="once", id="add-d")
    await ann.send(type="card_edit", card="d", version=1, title="edited", id="edit-d")
    await ann.send(type="card_move", card="d", column="todo", position=0, id="move-d")
    await ann.send(type="card_remove", card="c", id="remove-c")
    head = await cluster.store.head(channel)
    # The connection drops before the acknowledgements arrive; the page resends with the same ids.
    await ann.disconnect()
    await ann.connect()
    for frame in (
        {"type": "card_add", "card": "d", "column": "doing", "title": "once", "id": "add-d"},
        {"type": "card_edit", "card": "d", "version": 1, "title": "edited", "id": "edit-d"},
        {"type": "card_move", "card": "d", "column": "todo", "position": 0, "id": "move-d"},
        {"type": "card_remove", "card": "c", "id": "remove-c"},
    ):
        sent_at = len(ann.transport.frames)
        await ann.send(**frame)
        # The answer, among what came after the send (the joins' presence may come around it).
        answers = [f for f in ann.transport.frames[sent_at:] if f.get("type") not in ("presence", "system")]
        assert len(answers) == 1, answers
        echo = answers[0]
        assert echo["id"] == frame["id"] and echo["seq"] <= head, echo
    assert not ann.errors
    assert await cluster.store.head(channel) == head


async def test_moves_give_the_order_asked_for(cluster: Cluster) -> None:
    channel = board()
    ann = await seeded(cluster, channel)
    await ann.send(type="card_move", card="c", column="todo", position=0)
    assert order(ann.replica.state, "todo") == ["c", "a", "b"]
    await ann.send(type="card_move", card="c", column="todo", position=2)
    assert order(ann.replica.state, "todo") == ["a", "b", "c"]
    await ann.send(type="card_move", card="a", column="doing", position=0)
    await ann.send(type="card_move", card="c", column="doing", position=0)
    await ann.send(type="card_move", card="b", column="doing", position=1)
    assert order(ann.replica.state, "doing") == ["c", "b", "a"]
    assert order(ann.replica.state, "todo") == []
    await ann.send(type="column_move", column="doing", position=0)
    columns = sorted(ann.replica.state["columns"].values(), key=lambda c: (c["rank"], c["id"]))
    assert [c["id"] for c in columns] == ["doing", "todo"]
    await ann.send(type="column_remove", column="doing")
    assert ann.replica.state["cards"] == {}
    assert not ann.errors


@pytest.mark.parametrize("where", ["end", "top", "middle"])
async def test_ranks_stay_short_however_often_cards_go_to_one_place(cluster: Cluster, where: str) -> None:
    channel = board()
    ann = Client(cluster.nodes[0], ANN, channel)
    await ann.connect()
    await ann.send(type="column_add", column="col", title="Column")
    expected: list[str] = []
    for n in range(120):
        position = {"end": n, "top": 0, "middle": n // 2}[where]
        await ann.send(type="card_add", card=f"k{n:03}", column="col", title=f"{n}", position=position)
        expected.insert(position, f"k{n:03}")
    assert not ann.errors
    state = ann.replica.state
    assert order(state, "col") == expected
    assert max(len(card["rank"]) for card in state["cards"].values()) <= MAX_RANK_LENGTH
    events = await cluster.store.read(channel)
    assert any(event.type == "cards_rebalanced" for event in events)
    assert canonical(KANBAN.fold(KANBAN.initial(), events)) == canonical(state)
