"""The boards through the real application and its /ws socket, on every store."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from app.config import Settings
from app.factory import create_app

DEADLINE = 10.0


async def until(ws: ClientWebSocketResponse, kind: str, **fields: Any) -> dict[str, Any]:
    """Read frames until one of type `kind` with `fields`."""
    while True:
        frame = await ws.receive_json(timeout=DEADLINE)
        if frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items()):
            return frame


@pytest.fixture
async def client(aiohttp_client: Any, database_url: str, tmp_path: Path) -> Any:
    settings = dataclasses.replace(Settings.from_env({}), database_url=database_url, data_dir=tmp_path / "data")
    return await aiohttp_client(create_app(settings))


async def test_a_board_is_sent_on_join_and_edited_live(client: Any) -> None:
    ann = await client.ws_connect("/ws?channel=kanban:team&nickname=ann")
    welcome = await until(ann, "welcome")
    assert (await until(ann, "state")) == {
        "type": "state",
        "channel": "kanban:team",
        "seq": welcome["seq"],
        "board": {"columns": {}, "cards": {}},
    }
    await ann.send_json({"type": "column_add", "column": "todo", "title": "To do", "id": "c1"})
    added = await until(ann, "column_added", id="c1")
    assert (added["seq"], added["column"], added["title"], added["nickname"]) == (1, "todo", "To do", "ann")

    bob = await client.ws_connect("/ws?channel=kanban:team&nickname=bob")
    state = await until(bob, "state")
    assert state["seq"] == 1 and state["board"]["columns"]["todo"]["title"] == "To do"
    await bob.send_json({"type": "card_add", "column": "todo", "title": "<b>not markup</b>", "id": "k1"})
    card = await until(ann, "card_added", id="k1")
    assert card["title"] == "<b>not markup</b>" and card["nickname"] == "bob"
    await ann.send_json({"type": "card_move", "card": card["card"], "column": "todo", "position": 5, "id": "bad"})
    error = await until(ann, "error", id="bad")
    assert error["code"] == "bad_request"
    await ann.close()
    await bob.close()


async def test_a_board_subscribed_on_another_socket_gets_its_state_and_relays(client: Any) -> None:
    ann = await client.ws_connect("/ws?channel=general&nickname=ann")
    await until(ann, "welcome")
    await ann.send_json({"type": "subscribe", "channel": "draw:sketch"})
    assert (await until(ann, "subscribed"))["channel"] == "draw:sketch"
    assert (await until(ann, "state", channel="draw:sketch"))["board"] == {"strokes": []}

    bob = await client.ws_connect("/ws?channel=draw:sketch&nickname=bob")
    await until(bob, "state")
    await bob.send_json(
        {"type": "stroke_points", "stroke": "s1", "points": [[1, 1], [2, 2]], "color": "#ff0000", "width": 3}
    )
    live = await until(ann, "stroke_points")
    assert (live["channel"], live["stroke"], live["nickname"]) == ("draw:sketch", "s1", "bob")
    stroke = {"stroke": "s1", "points": [[1, 1], [2, 2], [3, 3]], "color": "#ff0000", "width": 3}
    await bob.send_json({"type": "stroke_add", **stroke, "id": "s1-done"})
    stored = await until(ann, "stroke_added")
    assert (stored["seq"], stored["points"], stored["id"]) == (1, stroke["points"], "s1-done")
    # A frame for a board names it when the board is not the socket's own channel.
    await ann.send_json({"type": "undo", "channel": "draw:sketch", "id": "u"})
    assert (await until(ann, "error", id="u"))["code"] == "not_found"
    await ann.send_json({"type": "stroke_erase", "channel": "draw:sketch", "stroke": "s1", "id": "e"})
    assert (await until(bob, "stroke_erased", id="e"))["seq"] == 2
    await ann.close()
    await bob.close()


async def test_a_reconnect_with_since_gets_the_missed_events_then_the_state(client: Any) -> None:
    ann = await client.ws_connect("/ws?channel=kanban:r&nickname=ann")
    await until(ann, "state")
    await ann.send_json({"type": "column_add", "column": "todo", "title": "To do", "id": "1"})
    await until(ann, "column_added")
    bob = await client.ws_connect("/ws?channel=kanban:r&nickname=bob")
    await until(bob, "state", seq=1)
    await bob.close()
    for n in range(3):
        await ann.send_json({"type": "card_add", "card": f"k{n}", "column": "todo", "title": f"{n}", "id": f"a{n}"})
        await until(ann, "card_added", id=f"a{n}")
    bob = await client.ws_connect("/ws?channel=kanban:r&nickname=bob&since=1")
    frames = []
    while not frames or frames[-1]["type"] != "state":
        frame = await bob.receive_json(timeout=DEADLINE)
        if frame["type"] not in ("presence", "rooms", "presence_diff", "system"):
            frames.append(frame)
    assert [(f["type"], f["seq"]) for f in frames] == [
        ("welcome", 4),
        ("card_added", 2),
        ("card_added", 3),
        ("card_added", 4),
        ("state", 4),
    ]
    await ann.close()
    await bob.close()
