"""The boards through the real application and its /ws socket, on every store."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from support.apps import Start
from support.ws import connect


@pytest.fixture
async def client(start: Start) -> TestClient:
    return await start()


async def test_a_board_is_sent_on_join_and_edited_live(client: TestClient) -> None:
    ann = await connect(client, channel="kanban:team", nickname="ann")
    welcome = ann.welcome
    assert (await ann.expect("state")) == {
        "type": "state",
        "channel": "kanban:team",
        "seq": welcome["seq"],
        "board": {"columns": {}, "cards": {}},
    }
    await ann.send(type="column_add", column="todo", title="To do", id="c1")
    added = await ann.expect("column_added", id="c1")
    assert (added["seq"], added["column"], added["title"], added["nickname"]) == (1, "todo", "To do", "ann")

    bob = await connect(client, channel="kanban:team", nickname="bob")
    state = await bob.expect("state")
    assert state["seq"] == 1 and state["board"]["columns"]["todo"]["title"] == "To do"
    await bob.send(type="card_add", column="todo", title="<b>not markup</b>", id="k1")
    card = await ann.expect("card_added", id="k1")
    assert card["title"] == "<b>not markup</b>" and card["nickname"] == "bob"
    await ann.send(type="card_move", card=card["card"], column="todo", position=5, id="bad")
    error = await ann.expect("error", id="bad")
    assert error["code"] == "bad_request"
    await ann.close()
    await bob.close()


async def test_a_board_subscribed_on_another_socket_gets_its_state_and_relays(client: TestClient) -> None:
    ann = await connect(client, channel="general", nickname="ann")
    await ann.send(type="subscribe", channel="draw:sketch")
    assert (await ann.expect("subscribed"))["channel"] == "draw:sketch"
    assert (await ann.expect("state", channel="draw:sketch"))["board"] == {"strokes": []}

    bob = await connect(client, channel="draw:sketch", nickname="bob")
    await bob.expect("state")
    await bob.send(type="stroke_points", stroke="s1", points=[[1, 1], [2, 2]], color="#ff0000", width=3)
    live = await ann.expect("stroke_points")
    assert (live["channel"], live["stroke"], live["nickname"]) == ("draw:sketch", "s1", "bob")
    stroke = {"stroke": "s1", "points": [[1, 1], [2, 2], [3, 3]], "color": "#ff0000", "width": 3}
    await bob.send(type="stroke_add", **stroke, id="s1-done")
    stored = await ann.expect("stroke_added")
    assert (stored["seq"], stored["points"], stored["id"]) == (1, stroke["points"], "s1-done")
    # A frame for a board names it when the board is not the socket's own channel.
    await ann.send(type="undo", channel="draw:sketch", id="u")
    assert (await ann.expect("error", id="u"))["code"] == "not_found"
    await ann.send(type="stroke_erase", channel="draw:sketch", stroke="s1", id="e")
    assert (await bob.expect("stroke_erased", id="e"))["seq"] == 2
    await ann.close()
    await bob.close()


async def test_a_reconnect_with_since_gets_the_missed_events_then_the_state(client: TestClient) -> None:
    ann = await connect(client, channel="kanban:r", nickname="ann")
    await ann.expect("state")
    await ann.send(type="column_add", column="todo", title="To do", id="1")
    await ann.expect("column_added")
    bob = await connect(client, channel="kanban:r", nickname="bob")
    await bob.expect("state", seq=1)
    await bob.close()
    for n in range(3):
        await ann.send(type="card_add", card=f"k{n}", column="todo", title=f"{n}", id=f"a{n}")
        await ann.expect("card_added", id=f"a{n}")
    bob = await connect(client, channel="kanban:r", nickname="bob", since=1)
    frames = [bob.welcome]
    while frames[-1]["type"] != "state":
        frame = await bob.recv()
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
