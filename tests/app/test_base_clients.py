"""Clients written for Base: `/api/ws?room=<room>&nickname=<name>` and Base's own frames."""

from __future__ import annotations

from support.ws import Peer, connect

from app.keys import ENGINE


async def users_update(peer: Peer, names: list[str]) -> dict:
    return await peer.expect(lambda f: f["type"] == "users_update" and f["content"] == names)


async def test_base_room_clients(start) -> None:
    client = await start()
    store = client.app[ENGINE].store
    ann = await connect(client, "/api/ws", room="board", nickname="ann", id="ignored")
    assert (ann.welcome["room"], ann.welcome["channel"]) == ("board", "board")
    update = await users_update(ann, ["ann"])
    assert update["room"] == "board"

    bob = await connect(client, "/api/ws", room="board", nickname="bob")
    await users_update(bob, ["ann", "bob"])  # the joiner included
    await users_update(ann, ["ann", "bob"])
    # A client of this contract in the same room: one of "everyone in the room" for Base's clients, and
    # it sees Base's stored frames as events of the channel.
    modern = await connect(client, "/ws", channel="board", nickname="max")
    await users_update(ann, ["ann", "bob", "max"])

    # Base's frames go to everyone in the room, sender included, with the server's nickname.
    stroke = {"points": [[1, 2], [3, 4]], "color": "#f00"}
    await ann.send(type="draw", content=stroke, nickname="mallory", extra="ignored")
    for peer in (ann, bob):
        frame = await peer.expect("draw")
        assert (frame["content"], frame["room"], frame["nickname"], frame["seq"]) == (stroke, "board", "ann", 1)
        assert "extra" not in frame
    assert (await modern.expect("draw"))["seq"] == 1
    await bob.send(type="cursor_move", content={"x": 10, "y": 20}, nickname="mallory")
    for peer in (ann, bob):
        frame = await peer.expect("cursor_move")
        assert (frame["content"], frame["room"], frame["nickname"]) == ({"x": 10, "y": 20}, "board", "bob")
        assert "seq" not in frame  # passing motion: relayed, never stored
    await bob.send(type="clear", content=None)
    for peer in (ann, bob):
        assert (await peer.expect("clear"))["seq"] == 2
    await ann.send(type="message", content="done drawing", id="m")
    assert (await ann.expect("message", id="m"))["seq"] == 3
    assert await store.head("board") == 3
    assert [e.type for e in await store.read("board")] == ["draw", "clear", "message"]

    await bob.close()
    await users_update(ann, ["ann", "max"])
    # Every frame a Base client got carries `room`, whatever its kind (welcome, lists, acks, pong, errors).
    await ann.send(type="welcome", content="a server frame type")
    await ann.send(type="list_rooms")
    await ann.barrier()
    kinds = {f["type"] for f in ann.frames}
    assert {"welcome", "users_update", "draw", "cursor_move", "clear", "message", "error", "rooms", "pong"} <= kinds
    missing = [f for f in ann.frames + bob.frames if f.get("room") != "board"]
    assert missing == [], missing
    assert not [f for f in modern.frames if "room" in f or f["type"] == "users_update"]
