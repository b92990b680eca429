"""`list_dms` over /ws: a user's direct-message conversations, also those begun while they were away."""

from __future__ import annotations

import pytest
from support.auth import SECRET, token
from support.ws import Peer, connect


@pytest.fixture
async def client(start):
    return await start(jwt_secret=SECRET)


def as_user(sub: str, roles: list[str] | None = None) -> str:
    return token(sub, name=sub.capitalize(), roles=roles)


async def dms(peer: Peer, **frame: object) -> dict:
    await peer.send(type="list_dms", **frame)
    return await peer.expect("dms")


async def test_a_conversation_begun_while_away_is_listed_with_its_unread_count(client) -> None:
    bob = await connect(client, token=as_user("bob"))
    for n in range(2):
        await bob.send(type="private", target="user:alice", content=f"psst {n}", id=f"d{n}")
        await bob.expect("private", id=f"d{n}")
    await bob.send(type="private", target="user:carol", content="hi carol", id="c")
    await bob.expect("private", id="c")

    # Alice was not connected: her first socket asks for her conversations.
    alice = await connect(client, token=as_user("alice"))
    listed = await dms(alice)
    assert listed["next"] is None and listed["before"] is None
    (entry,) = listed["dms"]
    assert {k: entry[k] for k in ("channel", "peer", "peer_name", "seq", "last_read", "unread")} == {
        "channel": "dm:alice:bob",
        "peer": "bob",
        "peer_name": "Bob",
        "seq": 2,
        "last_read": 0,
        "unread": 2,
    }
    assert entry["last_event_at"].endswith("Z")
    assert [e["peer"] for e in (await dms(bob))["dms"]] == ["carol", "alice"]

    # A `read` in the conversation is its read position, as for a room.
    await alice.send(type="subscribe", channel="dm:alice:bob", since=0)
    await alice.expect("subscribed", channel="dm:alice:bob")
    await alice.send(type="read", channel="dm:alice:bob", seq=2)
    await alice.expect("read", channel="dm:alice:bob")
    (entry,) = (await dms(alice))["dms"]
    assert (entry["last_read"], entry["unread"]) == (2, 0)


async def test_an_admin_gets_only_their_own_conversations(client) -> None:
    bob = await connect(client, token=as_user("bob"))
    await bob.send(type="private", target="user:alice", content="psst", id="d")
    await bob.expect("private", id="d")
    root = await connect(client, token=as_user("root", ["admin", "operator"]))
    assert (await dms(root))["dms"] == []
    await root.send(type="private", target="user:bob", content="hello", id="r")
    await root.expect("private", id="r")
    assert [e["channel"] for e in (await dms(root))["dms"]] == ["dm:bob:root"]


async def test_pages_of_conversations(client) -> None:
    alice = await connect(client, token=as_user("alice"))
    for peer in ("p1", "p2", "p3"):
        await alice.send(type="private", target=f"user:{peer}", content="hi", id=peer)
        await alice.expect("private", id=peer)
    first = await dms(alice, limit=2)
    assert [e["peer"] for e in first["dms"]] == ["p3", "p2"] and isinstance(first["next"], str)
    second = await dms(alice, limit=2, before=first["next"])
    assert [e["peer"] for e in second["dms"]] == ["p1"] and second["next"] is None
    assert second["before"] == first["next"]


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"limit": 0}, "'limit'"),
        ({"limit": 201}, "'limit'"),
        ({"limit": "5"}, "'limit'"),
        ({"limit": True}, "'limit'"),
        ({"before": 7}, "'before'"),
        ({"before": "not a cursor"}, "'before'"),
    ],
)
async def test_a_bad_list_dms_is_refused(client, frame: dict, field: str) -> None:
    alice = await connect(client, token=as_user("alice"))
    await alice.send(type="list_dms", id="q", **frame)
    error = await alice.expect("error")
    assert (error["code"], error["id"]) == ("bad_request", "q") and field in error["message"]
    assert not [f for f in alice.frames + await alice.barrier() if f["type"] == "dms"]
