"""Drawing commands against the engine on every store: strokes stored, points in progress and cursors
relayed only, validation, erase, undo, clear."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from support.boards import ANN, BOB, Client, Cluster, canonical, flushed
from support.waiting import wait_for

from collab.boards.drawing import MAX_CHUNK, MAX_POINTS


def board() -> str:
    return f"draw:{uuid.uuid4().hex[:8]}"


def stroke(stroke_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "stroke_add",
        "stroke": stroke_id,
        "points": [[10, 10], [20.25, 30.75], [40, 45]],
        "color": "#1E90FF",
        "width": 4,
        "tool": "pen",
        **extra,
    }


async def pair(cluster: Cluster) -> tuple[Client, Client, str]:
    channel = board()
    ann, bob = Client(cluster.nodes[0], ANN, channel), Client(cluster.nodes[0], BOB, channel)
    await ann.connect()
    await bob.connect()
    # Presence goes out coalesced a moment after the joins: let it, so that what a test reads next is
    # what its own frames caused.
    live = cluster.nodes[0].manager.channels[channel]
    await wait_for(lambda: not live.presence.pending, what="the joins' presence to go out")
    await flushed()
    ann.pump()
    bob.pump()
    return ann, bob, channel


async def test_a_finished_stroke_is_stored_and_reaches_everyone(cluster: Cluster) -> None:
    ann, bob, channel = await pair(cluster)
    await ann.send(**stroke("s1"), id="op1")
    bob.pump()
    expected = {
        "id": "s1",
        "user_id": ANN.id,
        "points": [[10, 10], [20.2, 30.8], [40, 45]],
        "color": "#1e90ff",
        "width": 4,
        "tool": "pen",
    }
    for client in (ann, bob):
        assert client.replica.state == {"strokes": [expected]}
    assert ann.transport.frames[-1]["id"] == "op1"
    assert await cluster.store.head(channel) == 1
    await ann.send(**stroke("s2", color="#abc", tool="highlighter", width=12.5))
    assert ann.replica.state["strokes"][1]["color"] == "#aabbcc"


async def test_points_in_progress_and_cursors_are_relayed_to_the_others_and_not_stored(cluster: Cluster) -> None:
    ann, bob, channel = await pair(cluster)
    await ann.send(type="stroke_points", stroke="s1", points=[[1, 2], [3, 4]], color="#000", width=2)
    await ann.send(type="cursor", x=100.04, y=200)
    relayed = [f for f in bob.pump() if f["type"] in ("stroke_points", "cursor")]
    assert relayed == [
        {
            "type": "stroke_points",
            "stroke": "s1",
            "points": [[1, 2], [3, 4]],
            "color": "#000000",
            "width": 2,
            "tool": "pen",
            "client_id": ann.session.id,
            "user_id": ANN.id,
            "nickname": "Ann",
            "channel": channel,
        },
        {
            "type": "cursor",
            "x": 100.0,
            "y": 200,
            "client_id": ann.session.id,
            "user_id": ANN.id,
            "nickname": "Ann",
            "channel": channel,
        },
    ]
    assert not [f for f in ann.pump() if f["type"] in ("stroke_points", "cursor")]
    assert await cluster.store.head(channel) == 0
    ann_id = ann.session.id
    await ann.disconnect()
    assert [f for f in bob.pump() if f["type"] == "cursor_left"] == [
        {"type": "cursor_left", "client_id": ann_id, "user_id": ANN.id, "channel": channel}
    ]


BAD = [
    {**stroke("s"), "points": []},
    {**stroke("s"), "points": [[1, 2]] * (MAX_POINTS + 1)},
    {**stroke("s"), "points": [[1, 2, 3]]},
    {**stroke("s"), "points": [[1, "2"]]},
    {**stroke("s"), "points": [[1, True]]},
    {**stroke("s"), "points": [[1, 1e9]]},
    {**stroke("s"), "points": "1,2"},
    {**stroke("s"), "color": "red"},
    {**stroke("s"), "color": "#12345"},
    {**stroke("s"), "color": "#1234567"},
    {**stroke("s"), "width": 0},
    {**stroke("s"), "width": 65},
    {**stroke("s"), "width": "4"},
    {**stroke("s"), "tool": "laser"},
    {**stroke("s"), "stroke": ""},
    {**stroke("s"), "stroke": "a b"},
    {key: value for key, value in stroke("s").items() if key != "color"},
    {key: value for key, value in stroke("s").items() if key != "stroke"},
    {"type": "stroke_points", "stroke": "s", "points": [[1, 2]] * (MAX_CHUNK + 1), "color": "#000", "width": 2},
    {"type": "stroke_points", "stroke": "s", "points": [[1, 2]], "color": "#000", "width": 200},
    {"type": "cursor", "x": "1", "y": 2},
    {"type": "cursor", "x": 1},
    {"type": "stroke_erase", "stroke": "ghost"},
    {"type": "undo"},
    {"type": "card_add", "column": "x", "title": "y"},
]


@pytest.mark.parametrize("frame", BAD, ids=range(len(BAD)))
async def test_bad_frames_get_an_error_and_store_or_relay_nothing(cluster: Cluster, frame: dict[str, Any]) -> None:
    ann, bob, channel = await pair(cluster)
    bob.pump()
    await ann.send(**frame, id="bad")
    error = ann.errors[-1]
    assert error["id"] == "bad" and error["code"] in ("bad_request", "not_found"), error
    assert await cluster.store.head(channel) == 0
    assert [f["type"] for f in bob.pump()] == []


async def test_a_stroke_id_is_used_once(cluster: Cluster) -> None:
    ann, bob, channel = await pair(cluster)
    await ann.send(**stroke("s1"), id="first")
    await bob.send(**stroke("s1"), id="second")
    assert bob.errors[-1]["code"] == "conflict"
    assert await cluster.store.head(channel) == 1


async def test_undo_takes_back_ones_own_last_stroke_only(cluster: Cluster) -> None:
    ann, bob, _ = await pair(cluster)
    await ann.send(**stroke("a1"))
    await ann.send(**stroke("a2"))
    await bob.send(**stroke("b1"))
    await ann.send(type="undo", id="u1")
    bob.pump()
    assert [s["id"] for s in bob.replica.state["strokes"]] == ["a1", "b1"]
    assert ann.transport.frames[-1]["type"] == "stroke_undone"
    await bob.send(type="undo")
    await bob.send(type="undo", id="u2")
    assert bob.errors[-1]["code"] == "not_found" and bob.errors[-1]["id"] == "u2"
    await ann.send(type="stroke_erase", stroke="a1")
    assert ann.replica.state == {"strokes": []}
    await ann.send(type="undo", id="u3")
    assert ann.errors[-1]["code"] == "not_found"


async def test_clear_empties_the_board_for_everyone(cluster: Cluster) -> None:
    ann, bob, channel = await pair(cluster)
    for n in range(3):
        await ann.send(**stroke(f"s{n}"))
    await bob.send(type="clear")
    ann.pump()
    assert ann.replica.state == bob.replica.state == {"strokes": []}
    fresh = Client(cluster.nodes[0], BOB, channel)
    await fresh.connect()
    assert canonical(fresh.replica.state) == {"strokes": []}
    assert fresh.replica.seq == 4
