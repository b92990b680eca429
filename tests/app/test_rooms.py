"""Private rooms, direct messages, the room list and read receipts."""

from __future__ import annotations

import pytest
from support.auth import SECRET, token
from support.ws import Peer, connect

from app.keys import ENGINE


@pytest.fixture
async def client(start):
    return await start(jwt_secret=SECRET)


def as_user(sub: str, roles: list[str] | None = None) -> str:
    return token(sub, name=sub.capitalize(), roles=roles)


def room_names(frame: dict) -> list[str]:
    return [room["name"] for room in frame["rooms"]]


async def rooms_now(peer: Peer) -> dict:
    """The peer's current room list: the answer to `list_rooms`, the last `rooms` before the pong."""
    await peer.send(type="list_rooms")
    return [f for f in await peer.barrier() if f["type"] == "rooms"][-1]


async def test_private_room_admits_members_only(client) -> None:
    alice = await connect(client, channel="general", token=as_user("alice"))
    await alice.send(type="create_room", name="secret", private=True, members=["bob"])
    rooms = await alice.expect(lambda f: f["type"] == "rooms" and "secret" in room_names(f))
    assert next(r for r in rooms["rooms"] if r["name"] == "secret")["private"] is True

    # A non-member: refused as home channel (error frame, 1008) and when subscribing (error frame).
    carol_token = as_user("carol")
    refused = await client.ws_connect("/ws", params={"channel": "secret", "token": carol_token})
    frames = []
    async for msg in refused:
        frames.append(msg.json())
    assert refused.close_code == 1008
    assert [f["type"] for f in frames] == ["error"] and frames[0]["code"] == "forbidden", frames

    carol = await connect(client, channel="general", token=carol_token)
    await carol.send(type="subscribe", channel="secret", id="s1")
    error = await carol.expect("error")
    assert error["code"] == "forbidden" and error.get("id") == "s1"
    await carol.send(type="publish", channel="secret", event="x", data=1)
    assert (await carol.expect("error"))["code"] == "forbidden"

    # A member gets in, reads and writes.
    bob = await connect(client, channel="secret", token=as_user("bob"))
    await bob.send(type="message", content="members only", id="b1")
    assert (await bob.expect("message", id="b1"))["seq"] == 1
    await alice.send(type="subscribe", channel="secret", since=0)
    assert (await alice.expect("subscribed"))["seq"] == 1
    assert (await alice.expect("message", channel="secret"))["content"] == "members only"

    # The list differs per user: the private room is hidden from non-members.
    for peer, visible in ((alice, True), (bob, True), (carol, False)):
        names = room_names(await rooms_now(peer))
        assert ("secret" in names) is visible, (peer.welcome["user"]["id"], names)
        assert "general" in names
    admin = await connect(client, channel="secret", token=as_user("root", ["admin"]))
    assert "secret" in room_names(await rooms_now(admin))
    # Nothing of the private room reached the outsider.
    leaked = [f for f in carol.frames + await carol.barrier() if f.get("channel") == "secret"]
    assert [f["type"] for f in leaked] == [], leaked


async def test_create_room_twice_is_a_conflict(client) -> None:
    alice = await connect(client, token=as_user("alice"))
    await alice.send(type="create_room", name="dup")
    await alice.send(type="create_room", name="dup", id="again")
    error = await alice.expect("error")
    assert (error["code"], error["id"]) == ("conflict", "again")


async def test_direct_messages_reach_both_users_only(client) -> None:
    alice1 = await connect(client, token=as_user("alice"))
    alice2 = await connect(client, channel="elsewhere", token=as_user("alice"))
    bob1 = await connect(client, token=as_user("bob"))
    bob2 = await connect(client, channel="elsewhere", token=as_user("bob"))
    carol = await connect(client, token=as_user("carol"))
    admin = await connect(client, token=as_user("root", ["admin"]))

    await alice1.send(type="private", target=bob2.client_id, content="psst", id="d1")
    await bob1.send(type="private", target="user:alice", content="hi back", id="d2")
    for peer in (alice1, alice2, bob1, bob2):
        first = await peer.expect("private")
        second = await peer.expect("private")
        assert (first["channel"], first["seq"], first["content"]) == ("dm:alice:bob", 1, "psst")
        assert (first["user_id"], first["nickname"], first["from"]) == ("alice", "Alice", alice1.client_id)
        assert (second["channel"], second["seq"], second["content"]) == ("dm:alice:bob", 2, "hi back")
        assert (second["user_id"], second["from"]) == ("bob", bob1.client_id)
    assert (alice1.frames[-2].get("id"), bob1.frames[-1].get("id")) == ("d1", "d2")
    for outsider in (carol, admin):
        assert not [f for f in outsider.frames + await outsider.barrier() if f["type"] == "private"]

    # Readable by the two users and an admin; not by anyone else.
    for reader in (alice1, bob2, admin):
        await reader.send(type="subscribe", channel="dm:alice:bob", since=0)
        subscribed, skipped = await reader.until("subscribed", channel="dm:alice:bob")
        assert subscribed["seq"] == 2 and not [f for f in skipped if f["type"] == "private"]
    replay = [await admin.expect("private") for _ in range(2)]
    assert [f["content"] for f in replay] == ["psst", "hi back"]
    await carol.send(type="subscribe", channel="dm:alice:bob", since=0)
    assert (await carol.expect("error"))["code"] == "forbidden"
    refused = await client.ws_connect("/ws", params={"channel": "dm:alice:bob", "token": as_user("carol")})
    frames = [msg.json() async for msg in refused]
    assert refused.close_code == 1008 and frames[0]["type"] == "error"


async def test_direct_messages_of_user_ids_with_colons_stay_private(client) -> None:
    """The DM of `alice:bob` and `mallory` is `dm:alice@3abob@@mallory` (an id with ':' is escaped:
    docs/protocol.md): user `alice` may not read it. And nobody may follow a DM channel that does not
    exist yet."""
    name = "dm:alice@3abob@@mallory"
    pair = await connect(client, token=as_user("alice:bob"))
    alice = await connect(client, token=as_user("alice"))
    await alice.send(type="subscribe", channel=name)
    assert (await alice.expect("error"))["code"] == "forbidden"
    await pair.send(type="private", target="user:mallory", content="secret", id="c1")
    sent = await pair.expect("private")
    assert sent["channel"] == name
    await alice.send(type="subscribe", channel=name, since=0)
    assert (await alice.expect("error"))["code"] == "forbidden"
    await pair.send(type="subscribe", channel=name, since=0)
    await pair.expect("subscribed", channel=name)


async def test_direct_message_to_an_unknown_client_is_an_error(client) -> None:
    alice = await connect(client, token=as_user("alice"))
    await alice.send(type="private", target="no-such-client", content="hello?", id="q")
    error = await alice.expect("error")
    assert (error["code"], error["id"]) == ("not_found", "q")


async def test_read_receipts_and_unread_counts(client) -> None:
    alice = await connect(client, channel="team", token=as_user("alice"))
    bob = await connect(client, channel="team", token=as_user("bob"))
    for i in range(3):
        await bob.send(type="message", content=f"news {i}", id=f"n{i}")
        await bob.expect("message", id=f"n{i}")

    def unread(frame: dict) -> int:
        return next(r for r in frame["rooms"] if r["name"] == "team")["unread"]

    assert unread(await rooms_now(alice)) == 3

    await alice.send(type="read", seq=2)
    receipt = await bob.expect("read")
    assert (receipt["channel"], receipt["user_id"], receipt["seq"]) == ("team", "alice", 2)
    assert unread(await alice.expect("rooms")) == 1
    await alice.send(type="read", channel="team", seq=3)
    assert (await bob.expect("read"))["seq"] == 3
    assert unread(await alice.expect("rooms")) == 0
    # Positions never move back, and they are stored: a new connection of alice's sees them.
    await alice.send(type="read", seq=1)
    assert (await bob.expect("read"))["seq"] == 3
    again = await connect(client, channel="general", token=as_user("alice"))
    assert unread(await rooms_now(again)) == 0
    assert unread(await rooms_now(bob)) == 3  # bob never sent a read


async def test_private_room_created_elsewhere_is_private_here_too(client) -> None:
    # Another server process (same database) created the room: this one has not seen it yet.
    await client.app[ENGINE].store.create_channel("vault", created_by="alice", private=True, members=["alice"])
    carol = await connect(client, token=as_user("carol"))
    await carol.send(type="subscribe", channel="vault", id="peek")
    answer = await carol.expect(lambda f: f["type"] in ("subscribed", "error"))
    assert (answer["type"], answer.get("code")) == ("error", "forbidden"), answer
    alice = await connect(client, token=as_user("alice"))
    await alice.send(type="subscribe", channel="vault")
    assert (await alice.expect("subscribed"))["channel"] == "vault"
