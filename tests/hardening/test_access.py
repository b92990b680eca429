"""Access holes of issue 11 (items 3 to 6), tried as an attacker would, through the real socket and HTTP
API of an in-process app, on every store:

3. a private room made over a name someone already follows (or is joining) would be theirs to read and
   write: refused, or the follower is put out before anything of the room reaches them;
4. an operator adding themself to a direct-message channel to read it: membership of a DM is not the
   API's to change, and only the pair (and admins) read a DM whatever its stored members say;
5. user ids with ':' made two pairs share one DM channel name: every pair has a name of its own, and
   the names of existing DMs of ids without ':' do not change;
6. Base's `?room=` frames named like the server's own frames were stored and replayed to everyone:
   refused with a clear error, nothing stored.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support.auth import token
from support.operators import ADMIN, OPERATOR, seed
from support.ws import Peer, connect

from app.keys import ENGINE

# Every frame type the server sends that is not a stored event (docs/protocol.md, "Stored events").
SERVER_FRAME_TYPES = (
    "welcome",
    "subscribed",
    "unsubscribed",
    "rooms",
    "heads",
    "dms",
    "presence",
    "presence_diff",
    "system",
    "read",
    "state",
    "error",
    "pong",
    "users_update",
    "metrics",
    "metrics_history",
    "stroke_points",
    "cursor_left",
)


def as_user(sub: str, roles: list[str] | None = None) -> str:
    return token(sub, name=sub.replace(":", "-"), roles=roles)


def of_channel(frames: list[dict[str, Any]], channel: str) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("channel") == channel]


async def everything(peer: Peer) -> list[dict[str, Any]]:
    """Every frame the peer has had, up to a ping's answer (frames of one socket come in order)."""
    await peer.barrier()
    return peer.frames


# -- 3: private rooms over names in use -------------------------------------------------------------


async def test_a_private_room_cannot_be_made_over_a_name_someone_follows(start) -> None:
    client = await start()
    store = client.app[ENGINE].store
    eve = await connect(client, token=as_user("eve"))
    await eve.send(type="subscribe", channel="hr-layoffs")
    await eve.expect("subscribed", channel="hr-layoffs")

    alice = await connect(client, token=as_user("alice"))
    await alice.barrier()  # her first room list
    await alice.send(type="create_room", name="hr-layoffs", private=True, id="make")
    answer = await alice.expect(lambda f: f["type"] in ("error", "rooms"))
    # Made, it would be private to alice while eve, subscribed, gets every message and may post.
    assert (answer["type"], answer.get("code"), answer.get("id")) == ("error", "conflict", "make"), answer
    assert "in use" in answer["message"], answer
    info = await store.get_channel("hr-layoffs")
    assert info is not None and not info.private, info  # the room eve's subscription made, public


async def test_a_private_room_made_while_someone_is_joining_the_name_keeps_them_out(start) -> None:
    """The race the name check alone cannot close: eve's subscription has read that no room exists, and
    alice's private room is stored before eve's join makes the room. Eve must end up outside."""
    client = await start()
    engine = client.app[ENGINE]
    eve = await connect(client, token=as_user("eve"))
    alice = await connect(client, token=as_user("alice"))

    # Eve's join makes room hr-layoffs only once alice's private room is stored.
    release = asyncio.Event()
    ensure = engine.rooms.ensure

    async def late_ensure(name: str, session: Any) -> Any:
        if name == "hr-layoffs":
            await release.wait()
        return await ensure(name, session)

    engine.rooms.ensure = late_ensure
    await alice.barrier()  # her first room list
    await eve.send(type="subscribe", channel="hr-layoffs", id="s1")
    # `subscribed` is sent after eve's join has read the store (no room yet), just before it makes the
    # room: when eve has it, her join waits in the held creation.
    await eve.expect("subscribed", channel="hr-layoffs")
    await alice.send(type="create_room", name="hr-layoffs", private=True, id="make")
    made = await alice.expect(lambda f: f["type"] in ("rooms", "error"))
    assert made["type"] == "rooms", made
    release.set()
    assert (await engine.store.get_channel("hr-layoffs")).private

    # Eve is told she is out, and gets nothing of the room afterwards; she cannot write to it.
    out = await eve.expect("unsubscribed", channel="hr-layoffs")
    assert "private" in out["reason"], out
    await alice.send(type="subscribe", channel="hr-layoffs")
    await alice.expect("subscribed", channel="hr-layoffs")
    await alice.send(type="message", channel="hr-layoffs", content="cuts in Q3", id="m1")
    await alice.expect("message", id="m1")
    await eve.send(type="message", channel="hr-layoffs", content="eve was here", id="e1")
    refused = await eve.expect("error", id="e1")
    assert refused["code"] == "forbidden", refused
    leaked = [f for f in of_channel(await everything(eve), "hr-layoffs") if "seq" in f and f["type"] == "message"]
    assert leaked == [], leaked
    assert [e.data["content"] for e in await engine.store.read("hr-layoffs")] == ["cuts in Q3"]


async def test_a_member_removed_while_joining_is_put_out(start) -> None:
    """Removal re-checks every socket in the channel, also one whose join is not finished."""
    client = await start()
    engine = client.app[ENGINE]
    owner = await connect(client, token=as_user("olga"))
    await owner.send(type="create_room", name="council", private=True, members=["fay"])
    await owner.expect(lambda f: f["type"] == "rooms" and any(r["name"] == "council" for r in f["rooms"]))
    release = asyncio.Event()
    ensure = engine.rooms.ensure

    async def late_ensure(name: str, session: Any) -> Any:
        if name == "council":
            await release.wait()
        return await ensure(name, session)

    engine.rooms.ensure = late_ensure
    fay = await connect(client, token=as_user("fay"))
    await fay.send(type="subscribe", channel="council", id="s1")
    await fay.expect("subscribed", channel="council")
    response = await client.delete("/api/channels/council/members/fay", headers=OPERATOR)
    assert response.status == 200, await response.text()
    release.set()
    out = await fay.expect("unsubscribed", channel="council")
    assert "removed" in out["reason"], out
    await owner.send(type="subscribe", channel="council")
    await owner.expect("subscribed", channel="council")
    await owner.send(type="message", channel="council", content="fay is out", id="o1")
    await owner.expect("message", id="o1")
    assert [f for f in of_channel(await everything(fay), "council") if f["type"] == "message"] == []
    assert "council" not in engine.manager.sessions[fay.client_id].channels


# -- 4: operators and direct messages ---------------------------------------------------------------


async def test_an_operator_cannot_make_themself_a_member_of_a_dm(start) -> None:
    client = await start()
    store = client.app[ENGINE].store
    alice = await connect(client, token=as_user("alice"))
    await alice.send(type="private", target="user:bob", content="psst", id="d1")
    await alice.expect("private", id="d1")

    for method in ("put", "delete"):
        for who in (OPERATOR, ADMIN):
            for user in ("op-1", "bob"):
                response = await getattr(client, method)(f"/api/channels/dm:alice:bob/members/{user}", headers=who)
                assert response.status == 403, (method, user, response.status, await response.text())
                body = await response.json()
                assert body["error"] == "forbidden" and "direct-message" in body["message"], body
    assert (await store.get_channel("dm:alice:bob")).members == frozenset({"alice", "bob"})
    # The members list of a DM is for admins, as its events are.
    assert (await client.get("/api/channels/dm:alice:bob/members", headers=OPERATOR)).status == 403
    assert (await client.get("/api/channels/dm:alice:bob/members", headers=ADMIN)).status == 200

    operator = await connect(client, token=as_user("op-1", ["operator"]))
    await operator.send(type="subscribe", channel="dm:alice:bob", since=0, id="peek")
    assert (await operator.expect("error", id="peek"))["code"] == "forbidden"


async def test_a_dm_is_read_by_its_pair_only_whatever_its_stored_members_say(start) -> None:
    """A DM channel an operator was added to before this fix (the membership row persists)."""
    client = await start()
    store = client.app[ENGINE].store
    alice = await connect(client, token=as_user("alice"))
    await alice.send(type="private", target="user:bob", content="psst", id="d1")
    await alice.expect("private", id="d1")
    await store.add_member("dm:alice:bob", "op-1")

    operator = await connect(client, token=as_user("op-1", ["operator"]))
    await operator.send(type="subscribe", channel="dm:alice:bob", since=0, id="peek")
    assert (await operator.expect("error", id="peek"))["code"] == "forbidden"
    refused = await client.ws_connect("/ws", params={"channel": "dm:alice:bob", "since": "0", "token": as_user("op-1")})
    frames = [msg.json() async for msg in refused]
    assert refused.close_code == 1008 and [f["type"] for f in frames] == ["error"], frames
    for reader, roles in (("bob", None), ("root", ["admin"])):
        peer = await connect(client, token=as_user(reader, roles))
        await peer.send(type="subscribe", channel="dm:alice:bob", since=0)
        await peer.expect("subscribed", channel="dm:alice:bob")
        assert (await peer.expect("private"))["content"] == "psst"


# -- 5: DM names of ids with ':' --------------------------------------------------------------------


async def direct(sender: Peer, to: str, content: str, op: str) -> dict[str, Any]:
    await sender.send(type="private", target=f"user:{to}", content=content, id=op)
    return await sender.expect("private", id=op)


async def test_two_pairs_never_share_a_dm_channel(start) -> None:
    client = await start()
    x = await connect(client, token=as_user("x"))
    first = await direct(x, "y:z", "for y:z only", "d1")
    xy = await connect(client, token=as_user("x:y"))
    second = await direct(xy, "z", "for z only", "d2")
    assert first["channel"] != second["channel"], (first["channel"], second["channel"])
    assert second["seq"] == 1

    # The second pair may not read the first pair's channel, nor the first pair the second's.
    for peer, other in ((xy, first["channel"]), (x, second["channel"])):
        await peer.send(type="subscribe", channel=other, since=0, id="peek")
        assert (await peer.expect("error", id="peek"))["code"] == "forbidden"
    z = await connect(client, token=as_user("z"))
    await z.send(type="subscribe", channel=first["channel"], since=0, id="peek")
    assert (await z.expect("error", id="peek"))["code"] == "forbidden"
    await z.send(type="subscribe", channel=second["channel"], since=0)
    await z.expect("subscribed", channel=second["channel"])
    assert [f["content"] for f in of_channel(await everything(z), second["channel"]) if f["type"] == "private"] == [
        "for z only"
    ]
    store = client.app[ENGINE].store
    assert (await store.get_channel(first["channel"])).members == frozenset({"x", "y:z"})
    assert (await store.get_channel(second["channel"])).members == frozenset({"x:y", "z"})

    # After a restart (a new app on the same database), still one channel per pair.
    again = await start()
    xy2 = await connect(again, token=as_user("x:y"))
    await xy2.send(type="subscribe", channel=first["channel"], since=0, id="peek")
    assert (await xy2.expect("error", id="peek"))["code"] == "forbidden"
    assert (await direct(xy2, "z", "again", "d3"))["channel"] == second["channel"]


async def test_the_dm_names_of_ids_without_colons_do_not_change(start) -> None:
    client = await start()
    # A DM stored before this change, in the form it always had.
    store = client.app[ENGINE].store
    await store.create_channel("dm:alice@example.org:bob", private=True, members={"alice@example.org", "bob"})
    await seed(client, "dm:alice@example.org:bob", [{"type": "private", "data": {"content": "old", "to": "bob"}}])
    alice = await connect(client, token=as_user("alice@example.org"))
    answer = await direct(alice, "bob", "new", "d1")
    assert (answer["channel"], answer["seq"]) == ("dm:alice@example.org:bob", 2)


@pytest.mark.parametrize(
    "pair",
    [("x", "y:z"), ("x:y", "z"), ("a@3ab", "c"), ("a:b", "c"), ("a", "b@@c"), ("a:", "b"), ("é:ü", "日本")],
)
def test_dm_names_are_one_per_pair(pair) -> None:
    from collab.chat.dm_names import dm_channel, dm_pair

    name = dm_channel(*pair)
    assert dm_pair(name) == tuple(sorted(pair))
    assert dm_channel(*reversed(pair)) == name


def test_dm_names_of_every_pair_differ() -> None:
    from collab.chat.dm_names import dm_channel

    ids = ["x", "y", "z", "x:y", "y:z", "x:y:z", "a@3ab", "a:b", "a@@b", "@", ":", "@3a", "b"]
    names = {}
    for a in ids:
        for b in ids:
            pair = tuple(sorted((a, b)))
            name = dm_channel(a, b)
            assert names.setdefault(name, pair) == pair, (name, pair, names[name])


async def test_an_old_dm_channel_two_pairs_were_put_in_is_for_admins_only(start) -> None:
    """Before this fix, (x, y:z) and (x:y, z) both wrote to `dm:x:y:z` and were all made members."""
    client = await start()
    store = client.app[ENGINE].store
    await store.create_channel("dm:x:y:z", private=True, members={"x", "y:z", "x:y", "z"})
    await seed(client, "dm:x:y:z", [{"type": "private", "data": {"content": "mixed", "to": "y:z"}, "user": "x"}])
    await store.create_channel("dm:p:q:r", private=True, members={"p", "q:r"})  # one pair only: theirs
    for user in ("x", "y:z", "x:y", "z"):
        peer = await connect(client, token=as_user(user))
        await peer.send(type="subscribe", channel="dm:x:y:z", since=0, id="peek")
        assert (await peer.expect("error", id="peek"))["code"] == "forbidden", user
    admin = await connect(client, token=as_user("root", ["admin"]))
    await admin.send(type="subscribe", channel="dm:x:y:z", since=0)
    await admin.expect("subscribed", channel="dm:x:y:z")
    p = await connect(client, token=as_user("p"))
    await p.send(type="subscribe", channel="dm:p:q:r", since=0)
    await p.expect("subscribed", channel="dm:p:q:r")


# -- 6: Base's frames named like the server's ------------------------------------------------------


async def test_base_frames_named_like_server_frames_are_refused_and_not_stored(start) -> None:
    client = await start()
    store = client.app[ENGINE].store
    base = await connect(client, "/api/ws", room="lobby", nickname="ann")
    await base.send(type="subscribe", channel="side")
    await base.expect("subscribed", channel="side")
    for frame_type in SERVER_FRAME_TYPES:
        for target in ({}, {"channel": "side"}):
            await base.send(type=frame_type, content={"rooms": "not a list"}, id=f"{frame_type}-x", **target)
    answers = [f for f in await everything(base) if str(f.get("id", "")).endswith("-x")]
    assert len(answers) == 2 * len(SERVER_FRAME_TYPES), answers
    accepted = [f for f in answers if f["type"] != "error" or f["code"] != "bad_request"]
    assert accepted == [], accepted
    unclear = [f for f in answers if f["id"] != "read-x" and "the server's" not in f["message"]]
    assert unclear == [], unclear  # (`read` is a frame of this protocol: refused for its missing `seq`)
    # Base's own frames still work.
    await base.send(type="draw", content={"points": [[1, 2]]}, id="d1")
    assert (await base.expect("draw", id="d1"))["seq"] == 1
    assert [e.type for e in await store.read("lobby")] == ["draw"]
    assert await store.read("side") == []

    # A modern client replaying the room sees no server-looking frame from the store.
    modern = await connect(client, channel="lobby", since=0)
    await modern.barrier()
    stored = [f["type"] for f in modern.frames if "seq" in f and f.get("channel") == "lobby" and f["type"] != "welcome"]
    assert stored == ["draw"], stored


async def test_modern_sockets_cannot_store_server_frame_types_either(start) -> None:
    client = await start()
    store = client.app[ENGINE].store
    modern = await connect(client, channel="lobby")
    for frame_type in ("rooms", "heads", "state"):
        await modern.send(type=frame_type, content=1, id=frame_type)
        assert (await modern.expect("error", id=frame_type))["code"] == "bad_request"
    assert await store.read("lobby") == []


def test_the_server_frame_types_are_the_ones_the_protocol_reserves() -> None:
    from collab.realtime.protocol import SERVER_FRAME_TYPES as RESERVED

    assert set(SERVER_FRAME_TYPES) <= RESERVED


async def test_no_append_stores_a_server_frame_type(start) -> None:
    """Every path that stores goes through `Channel.append` (a channel module's too)."""
    from collab.errors import ProtocolError

    client = await start()
    manager = client.app[ENGINE].manager
    for frame_type in SERVER_FRAME_TYPES:
        with pytest.raises(ProtocolError):
            await manager.channel("lobby").append(None, frame_type, {"content": 1})
    assert await client.app[ENGINE].store.read("lobby") == []
