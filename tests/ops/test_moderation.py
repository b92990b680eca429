"""Moderation: kicks, revocations (persistent, across restarts), private-room removal, the audit record."""

from __future__ import annotations

import time

import orjson
from aiohttp import WSMsgType
from support.auth import token
from support.operators import ADMIN, OPERATOR, bearer
from support.waiting import DEADLINE
from support.ws import connect, refused
from support.yjs import close_code

from app.keys import AUTH, ENGINE


async def audit(client) -> list[dict]:
    response = await client.get("/api/channels/audit/events", headers=OPERATOR)
    assert response.status == 200, await response.text()
    return (await response.json())["events"]


async def doc_socket(client, name: str, tok: str):
    """A /ws/doc connection that has had the server's first sync message."""
    ws = await client.ws_connect(f"/ws/doc/{name}", params={"token": tok})
    msg = await ws.receive(timeout=DEADLINE)
    assert msg.type is WSMsgType.BINARY, msg
    return ws


async def test_kick_a_connection_closes_it_and_its_token_stays_out(start) -> None:
    client = await start()
    ann_token = token("ann", name="Ann", jti="ann-token-1")
    ann = await connect(client, channel="lobby", token=ann_token)
    other = await connect(client, channel="lobby", token=token("ann", jti="ann-token-2"))
    bystander = await connect(client, channel="lobby", token=token("bob"))
    connections = await (await client.get("/api/moderation/connections", headers=OPERATOR)).json()
    listed = {c["client_id"]: c for c in connections["connections"]}
    assert listed[ann.client_id]["user"]["id"] == "ann" and listed[ann.client_id]["channel"] == "lobby"

    response = await client.post(
        "/api/moderation/kick", json={"client_id": ann.client_id, "reason": "spam"}, headers=OPERATOR
    )
    assert response.status == 200, await response.text()
    outcome = await response.json()
    assert outcome["action"] == "kick" and outcome["closed"] == [ann.client_id]
    assert [r["jti"] for r in outcome["revocations"]] == ["ann-token-1"]
    code, frames = await ann.closed()
    assert code == 1008
    assert frames[-1]["type"] == "error" and "kicked" in frames[-1]["message"] and "spam" in frames[-1]["message"]
    # Back with the same token: refused. Ann's other token and Bob are untouched.
    code, frames = await refused(client, channel="lobby", token=ann_token)
    assert code == 1008 and frames[0]["code"] == "unauthorized"
    for peer in (other, bystander):
        await peer.barrier()
    # The record: who did what to whom.
    [event] = await audit(client)
    assert (event["type"], event["user_id"], event["nickname"], event["client_id"], event["reason"]) == (
        "kick",
        "op-1",
        "Olga",
        ann.client_id,
        "spam",
    )
    assert event["closed"] == [ann.client_id] and event["revocations"][0]["jti"] == "ann-token-1"
    assert outcome["audit_seq"] == event["seq"]
    # Kicking a connection that is not there: 404; a bad body: 400.
    response = await client.post("/api/moderation/kick", json={"client_id": ann.client_id}, headers=OPERATOR)
    assert response.status == 404
    for body in ({}, {"client_id": "x", "user_id": "y"}, {"user_id": 5}, {"user_id": "x", "revoke": "no"}, [1]):
        response = await client.post("/api/moderation/kick", json=body, headers=OPERATOR)
        assert response.status == 400, body
    assert (await client.post("/api/moderation/kick", data=b"{", headers=OPERATOR)).status == 400


async def test_kick_a_user_closes_every_socket_of_theirs(start) -> None:
    client = await start()
    bob_token = token("bob")  # no jti: the kick revokes all of bob's tokens issued until now
    first = await connect(client, channel="lobby", token=bob_token)
    second = await connect(client, channel="elsewhere", token=bob_token)
    doc = await doc_socket(client, "notes", bob_token)
    ann = await connect(client, channel="lobby", token=token("ann"))
    # Who may moderate: operators and admins; nobody else.
    assert (await client.post("/api/moderation/kick", json={"user_id": "bob"})).status == 401
    response = await client.post("/api/moderation/kick", json={"user_id": "bob"}, headers=bearer("ann", roles=[]))
    assert response.status == 403

    response = await client.post("/api/moderation/kick", json={"user_id": "bob"}, headers=ADMIN)
    assert response.status == 200
    outcome = await response.json()
    assert sorted(outcome["closed"]) == sorted([first.client_id, second.client_id, *outcome["closed"][2:]])
    assert len(outcome["closed"]) == 3  # both JSON sockets and the document socket
    assert [(r["user_id"], r["jti"]) for r in outcome["revocations"]] == [("bob", None)]
    for peer in (first, second):
        assert (await peer.closed())[0] == 1008
    assert await close_code(doc) == 1008
    code, _ = await refused(client, token=bob_token)
    assert code == 1008
    ws = await client.ws_connect("/ws/doc/notes", params={"token": bob_token})
    assert await close_code(ws) == 1008
    # A token issued after the kick lets bob in again.
    fresh = token("bob", iat=int(time.time()) + 2)
    again = await connect(client, token=fresh)
    await again.barrier()
    await ann.barrier()

    # Without `revoke`, a kick only closes: the same token comes straight back.
    response = await client.post("/api/moderation/kick", json={"user_id": "bob", "revoke": False}, headers=OPERATOR)
    assert (await response.json())["revocations"] == []
    assert (await again.closed())[0] == 1008
    await (await connect(client, token=fresh)).barrier()
    assert [e["type"] for e in await audit(client)] == ["kick", "kick"]


async def test_revoked_tokens_are_refused_everywhere_and_after_a_restart(start, make_settings) -> None:
    client = await start()
    carl = token("carl", jti="carl-1", roles=["operator"])
    carl_headers = {"Authorization": f"Bearer {carl}"}
    peer = await connect(client, token=carl)
    assert (await client.get("/api/channels", headers=carl_headers)).status == 200

    response = await client.post("/api/moderation/revoke", json={"jti": "carl-1", "reason": "leaked"}, headers=OPERATOR)
    assert response.status == 200, await response.text()
    outcome = await response.json()
    assert outcome["closed"] == [peer.client_id] and outcome["revocations"][0]["reason"] == "leaked"
    assert (await peer.closed())[0] == 1008
    assert (await refused(client, token=carl))[0] == 1008
    response = await client.get("/api/channels", headers=carl_headers)
    assert response.status == 401 and "revoked" in (await response.json())["message"]
    # Every token of a user issued before a time.
    dee_old = token("dee", iat=int(time.time()) - 600)
    dee_new = token("dee", iat=int(time.time()) + 5)
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    response = await client.post("/api/moderation/revoke", json={"user_id": "dee", "before": before}, headers=ADMIN)
    assert response.status == 200
    assert (await refused(client, token=dee_old))[0] == 1008
    await (await connect(client, token=dee_new)).barrier()
    listed = await (await client.get("/api/moderation/revocations", headers=OPERATOR)).json()
    assert [(r["jti"], r["user_id"]) for r in listed["revocations"]] == [("carl-1", None), (None, "dee")]
    for body in ({}, {"jti": "x", "user_id": "y"}, {"jti": "x", "before": before}, {"user_id": "y", "before": "soon"}):
        assert (await client.post("/api/moderation/revoke", json=body, headers=OPERATOR)).status == 400, body

    # A server started afresh on the same database refuses them too.
    restarted = await start()
    assert (await refused(restarted, token=carl))[0] == 1008
    assert (await refused(restarted, token=dee_old))[0] == 1008
    assert (await restarted.get("/api/channels", headers=carl_headers)).status == 401
    await (await connect(restarted, token=token("carl", jti="carl-2"))).barrier()
    # … and a revocation stored by another process (here: straight into the database, as `collab revoke`
    # does) reaches this one at its next poll, closing the sockets that use the token.
    eve = await connect(restarted, token=token("eve", jti="eve-1"))
    from collab.store.revocations import RevocationStore

    await RevocationStore(client.app[ENGINE].store.engine).add(token_id="eve-1", created_by="cli:test")
    assert "eve-1" not in restarted.app[AUTH].revoked_ids
    await restarted.app[ENGINE].moderation.refresh()
    assert (await eve.closed())[0] == 1008
    assert (await refused(restarted, token=token("eve", jti="eve-1")))[0] == 1008


async def test_removal_from_a_private_room(start) -> None:
    client = await start()
    owner = await connect(client, channel="lobby", token=token("olive"))
    await owner.send(type="create_room", name="council", private=True, members=["fay"])
    await owner.expect("rooms")
    await owner.send(type="subscribe", channel="council")
    await owner.expect("subscribed", channel="council")
    fay_token = token("fay", jti="fay-1")
    inside = await connect(client, channel="council", token=fay_token)
    watcher = await connect(client, channel="lobby", token=fay_token)
    await watcher.send(type="subscribe", channel="council")
    await watcher.expect("subscribed", channel="council")
    members = await (await client.get("/api/channels/council/members", headers=OPERATOR)).json()
    assert members == {"channel": "council", "private": True, "members": ["fay", "olive"]}

    response = await client.delete("/api/channels/council/members/fay?reason=off-topic", headers=OPERATOR)
    assert response.status == 200, await response.text()
    outcome = await response.json()
    assert outcome["closed"] == [inside.client_id] and outcome["target_channel"] == "council"
    code, frames = await inside.closed()
    assert code == 1008 and "removed" in frames[-1]["message"]
    # The socket whose own channel is elsewhere leaves the room, stays open, and no longer lists it.
    gone = await watcher.expect("unsubscribed", channel="council")
    assert "off-topic" in gone["reason"]
    rooms = await watcher.expect("rooms")
    assert "council" not in [room["name"] for room in rooms["rooms"]]
    await owner.send(type="message", channel="council", content="still here?", id="q")
    await owner.expect("message", id="q")
    frames = await watcher.barrier()
    assert not [f for f in frames if f.get("channel") == "council" and f["type"] == "message"]
    # Joining again is refused (the token is still good elsewhere).
    code, frames = await refused(client, channel="council", token=fay_token)
    assert code == 1008 and frames[0]["code"] == "forbidden"
    await watcher.send(type="subscribe", channel="council")
    assert (await watcher.expect("error"))["code"] == "forbidden"
    # Not a member (any more), a public room, no such room.
    assert (await client.delete("/api/channels/council/members/fay", headers=OPERATOR)).status == 404
    assert (await client.delete("/api/channels/lobby/members/fay", headers=OPERATOR)).status == 409
    assert (await client.delete("/api/channels/nowhere/members/fay", headers=OPERATOR)).status == 404
    assert (await client.delete("/api/channels/council/members/fay", headers=bearer("x", roles=[]))).status == 403
    # Added back, she may join again.
    assert (await client.put("/api/channels/council/members/fay", headers=ADMIN)).status == 200
    assert (await client.put("/api/channels/council/members/fay", headers=ADMIN)).status == 409
    await (await connect(client, channel="council", token=fay_token)).barrier()
    events = await audit(client)
    assert [(e["type"], e["target_user"], e["target_channel"], e["user_id"]) for e in events] == [
        ("member_removed", "fay", "council", "op-1"),
        ("member_added", "fay", "council", "admin-1"),
    ]
    assert events[0]["reason"] == "off-topic" and events[0]["closed"] == [inside.client_id]


async def test_the_audit_channel_is_not_a_room(start) -> None:
    client = await start()
    await client.post("/api/moderation/revoke", json={"user_id": "zed"}, headers=OPERATOR)
    peer = await connect(client, token=token("op-1", roles=["admin"]))
    rooms = await peer.expect("rooms")
    assert "audit" not in [room["name"] for room in rooms["rooms"]]
    await peer.send(type="subscribe", channel="audit")
    assert (await peer.expect("error"))["code"] == "forbidden"
    code, _ = await refused(client, channel="audit", token=token("op-1", roles=["admin"]))
    assert code == 1008
    channels = await (await client.get("/api/channels?kind=audit", headers=OPERATOR)).json()
    assert [(c["name"], c["kind"], c["head"]) for c in channels["channels"]] == [("audit", "audit", 1)]
    # Its events carry everything as JSON (the export is the record).
    text = await (await client.get("/api/channels/audit/events?format=jsonl", headers=OPERATOR)).text()
    assert orjson.loads(text)["target_user"] == "zed"
