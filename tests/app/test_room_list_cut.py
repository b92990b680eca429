"""With more rooms than a `rooms` list shows (200), the list is the rooms the user has read first, then
the most active; every new user gets the same cut, computed once while nothing moves."""

from __future__ import annotations

from support.apps import Start
from support.auth import token
from support.ws import connect

from app.keys import ENGINE
from collab.chat import rooms as rooms_module
from collab.chat.rooms import MAX_LISTED
from collab.engine import Engine


async def make_rooms(engine: Engine, count: int) -> None:
    """`count` rooms (`room-000`, …) stored, and known to the server's room list."""
    for n in range(count):
        await engine.store.create_channel(f"room-{n:03}")
    await engine.rooms.load()


async def test_a_cut_list_is_the_read_rooms_then_the_busiest_and_shared_by_new_users(start: Start) -> None:
    client = await start()
    engine = client.app[ENGINE]
    await make_rooms(engine, MAX_LISTED + 20)
    # The last room made is the busiest: it makes the cut although it sorts last by name.
    writer = await connect(client, channel="room-219", nickname="writer")
    for n in range(3):
        await writer.send(type="message", content=f"m{n}", id=f"w{n}")
        await writer.expect("message", id=f"w{n}")

    first = await connect(client, channel="general", nickname="first")
    second = await connect(client, channel="general", nickname="second")
    lists = [await peer.expect("rooms") for peer in (first, second)]
    for listed in lists:
        names = [room["name"] for room in listed["rooms"]]
        assert len(names) == MAX_LISTED and names == sorted(names)
        assert "room-219" in names and listed["total"] == MAX_LISTED + 21  # general too
    assert lists[0]["rooms"] == lists[1]["rooms"]
    sessions = {s.attrs["nickname"]: s for s in engine.manager.sessions.values()}
    # One names set for both new users, not one each.
    assert sessions["first"].attrs["listed_rooms"] is sessions["second"].attrs["listed_rooms"]

    # A user who has read a quiet room gets it in their list, whatever its activity.
    reader = await connect(client, channel="room-218", nickname="reader")
    assert "room-218" not in [room["name"] for room in (await reader.expect("rooms"))["rooms"]]
    await reader.send(type="read", seq=0, channel="room-218")
    await reader.send(type="list_rooms")
    names = [room["name"] for room in (await reader.expect("rooms"))["rooms"]]
    assert "room-218" in names and "room-219" in names and len(names) == MAX_LISTED


def _shown(frame: dict) -> tuple[list[tuple[str, int, bool]], int]:
    # `online` aside: the shared list's counts may be up to PLAIN_LIST_SECONDS old by design.
    return [(room["name"], room["seq"], room["private"]) for room in frame["rooms"]], frame["total"]


async def test_the_shared_list_kept_through_new_rooms_is_the_list_built_anew(start: Start, monkeypatch) -> None:
    # Rooms made by joining move the shared list along with them (Rooms._remember) instead of having
    # it built again: below the cut, and across it, the list is what a build from scratch gives.
    monkeypatch.setattr(rooms_module, "PLAIN_LIST_SECONDS", 60.0)  # no rebuild for its age meanwhile
    client = await start()
    engine = client.app[ENGINE]
    rooms = engine.rooms
    await make_rooms(engine, MAX_LISTED - 3)
    watcher = await connect(client, channel="general", nickname="watcher")
    await watcher.expect("rooms")
    session = next(s for s in engine.manager.sessions.values() if s.attrs["nickname"] == "watcher")
    for name in ("aaa-new", "mmm-new", "zzz-new", "beyond-1", "beyond-2"):
        kept = rooms._plain
        joiner = await connect(client, channel=name, nickname=f"in-{name}")
        await joiner.expect("rooms")  # sent once the room is made
        moved = rooms._plain
        assert moved.version == rooms._version and moved.expires == kept.expires, "moved along, not built again"
        shared = rooms._list(session, {})
        listed = session.attrs.get("listed_rooms")
        rooms._plain = None
        built = rooms._list(session, {})
        assert _shown(shared) == _shown(built), name
        assert listed == session.attrs.get("listed_rooms"), name
    assert shared["total"] == MAX_LISTED + 3 and len(shared["rooms"]) == MAX_LISTED


async def test_a_new_guest_reads_no_positions_and_new_users_share_one_encoded_list(start: Start, monkeypatch) -> None:
    client = await start()
    engine = client.app[ENGINE]
    asked: list[str] = []
    of_user = engine.rooms.positions.of_user

    async def counted(user_id: str) -> dict[str, int]:
        asked.append(user_id)
        return await of_user(user_id)

    monkeypatch.setattr(engine.rooms.positions, "of_user", counted)
    written: list[bytes] = []
    for nickname in ("g1", "g2"):
        guest = await connect(client, channel="general", nickname=nickname)
        assert [room["name"] for room in (await guest.expect("rooms"))["rooms"]] == ["general"]
        written.append(engine.rooms._plain.wire)
    assert asked == []  # made for this connection: it has read nothing
    assert written[0] is written[1]  # encoded once, for both

    member = await connect(client, channel="general", token=token("u-member"))
    [entry] = (await member.expect("rooms"))["rooms"]
    assert asked == ["u-member"] and entry["name"] == "general"


async def test_clients_sharing_a_cut_list_hear_of_the_rooms_in_it_only(start: Start) -> None:
    client = await start()
    engine = client.app[ENGINE]
    await make_rooms(engine, MAX_LISTED + 5)
    guests = [await connect(client, channel="general", nickname=f"g{n}") for n in range(2)]
    for guest in guests:
        await guest.expect("rooms")
    sessions = [s for s in engine.manager.sessions.values() if s.attrs["nickname"] in ("g0", "g1")]
    listed = sessions[0].attrs["listed_rooms"]
    assert listed is sessions[1].attrs["listed_rooms"]
    inside = sorted(listed - {"general"})[0]
    outside = next(name for name in sorted(engine.rooms.infos) if name not in listed)
    for room in (outside, inside):  # `inside` moves last: its head comes in the last push of the two
        writer = await connect(client, channel=room, nickname=f"w-{room}")
        await writer.send(type="message", content="hello", id=f"m-{room}")
        await writer.expect("message", id=f"m-{room}")
    for guest in guests:
        told: dict[str, int] = {}
        while told.get(inside) != 1:
            told.update((await guest.expect("heads", within=5))["heads"])
        assert outside not in told and set(told) <= listed
