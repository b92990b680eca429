"""The publish API: service tokens, events stored and delivered like a socket's `publish`, idempotent
retries, several channels at once, the broadcast every socket hears, and what is refused (nothing stored)."""

from __future__ import annotations

import asyncio

import orjson
from support.auth import token
from support.openapi_schema import problems
from support.operators import OPERATOR, bearer
from support.ws import connect

from app.keys import ENGINE
from app.openapi import spec

SERVICE = bearer("billing", roles=["service"], name="Billing")
ONE = "/api/channels/{}/events"


async def _stored(client, channel: str) -> list:
    return await client.app[ENGINE].store.read(channel)


async def test_only_a_service_token_may_publish(start) -> None:
    client = await start()
    body = {"event": "tick", "data": 1}
    wrong_key = __import__("jwt").encode({"sub": "x", "roles": ["service"], "exp": 2**33}, "k" * 40, algorithm="HS256")
    cases = {
        "no token": ({}, 401),
        "garbage": ({"Authorization": "Bearer nope"}, 401),
        "wrong key": ({"Authorization": f"Bearer {wrong_key}"}, 401),
        "expired": ({"Authorization": f"Bearer {token('billing', roles=['service'], ttl=-3600)}"}, 401),
        "a user": (bearer("ann", roles=[]), 403),
        "an operator": (OPERATOR, 403),
        "an admin": (bearer("root", roles=["admin"]), 403),
    }
    for path, payload in ((ONE.format("news"), body), ("/api/events", {**body, "channels": ["news"]})):
        for case, (headers, status) in cases.items():
            response = await client.post(path, json=payload, headers=headers)
            assert response.status == status, (path, case, await response.text())
            assert (await response.json())["error"] == ("unauthorized" if status == 401 else "forbidden")
    response = await client.post("/api/broadcast", json=body, headers=OPERATOR)
    assert response.status == 403
    assert await _stored(client, "news") == [] and await _stored(client, "broadcast:all") == []


async def test_a_published_event_is_stored_and_delivered_like_a_sockets(start) -> None:
    client = await start()
    ann = await connect(client, channel="news", token=token("ann"))
    response = await client.post(
        ONE.format("news"), json={"event": "invoice", "data": {"n": 7}, "id": "op-1"}, headers=SERVICE
    )
    assert response.status == 201, await response.text()
    answer = await response.json()
    live = await ann.expect("event", id="op-1")
    assert live == answer
    assert {k: live[k] for k in ("channel", "seq", "event", "data", "user_id", "nickname")} == {
        "channel": "news",
        "seq": 1,
        "event": "invoice",
        "data": {"n": 7},
        "user_id": "billing",
        "nickname": "Billing",
    }
    schema = spec()["paths"]["/api/channels/{channel}/events"]["post"]["responses"]["201"]["content"]
    assert problems(spec(), schema["application/json"]["schema"], answer) == []
    # The history API reads it back as the socket got it.
    page = await (await client.get(ONE.format("news"), headers=OPERATOR)).json()
    assert page["events"] == [answer]


async def test_a_retry_with_the_same_op_id_stores_once_and_answers_the_same_event(start) -> None:
    client = await start()
    ann = await connect(client, channel="news", token=token("ann"))
    body = {"event": "invoice", "data": {"n": 7}, "id": "op-1"}
    first = await client.post(ONE.format("news"), json=body, headers=SERVICE)
    again = await client.post(ONE.format("news"), json=body, headers=SERVICE)
    assert (first.status, again.status) == (201, 200)
    assert await first.json() == await again.json()
    assert len(await _stored(client, "news")) == 1
    await ann.expect("event", id="op-1")
    assert [f for f in await ann.barrier() if f.get("type") == "event"] == []  # delivered once
    # The same op id with another event: 409, the first one kept.
    other = await client.post(ONE.format("news"), json={**body, "data": {"n": 8}}, headers=SERVICE)
    assert other.status == 409 and (await other.json())["error"] == "conflict"
    assert [e.data for e in await _stored(client, "news")] == [{"event": "invoice", "data": {"n": 7}}]
    # Another service's op ids are its own.
    mail = bearer("mailer", roles=["service"])
    assert (await client.post(ONE.format("news"), json=body, headers=mail)).status == 201


async def test_one_event_on_several_channels(start) -> None:
    client = await start()
    ann = await connect(client, channel="a", token=token("ann"))
    bob = await connect(client, channel="kanban:b", token=token("bob"))
    body = {"channels": ["a", "kanban:b", "c"], "event": "deploy", "data": None, "id": "d-1"}
    response = await client.post("/api/events", json=body, headers=SERVICE)
    assert response.status == 201, await response.text()
    events = (await response.json())["events"]
    assert [(e["channel"], e["seq"], e["event"], e["data"]) for e in events] == [
        ("a", 1, "deploy", None),
        ("kanban:b", 1, "deploy", None),
        ("c", 1, "deploy", None),
    ]
    assert await ann.expect("event", id="d-1") == events[0]
    assert await bob.expect("event", id="d-1") == events[1]
    # Retried: nothing more stored, the same answer.
    again = await client.post("/api/events", json=body, headers=SERVICE)
    assert again.status == 200 and (await again.json())["events"] == events
    for name in ("a", "kanban:b", "c"):
        assert len(await _stored(client, name)) == 1


async def test_a_broadcast_reaches_every_socket_whatever_its_channels(start) -> None:
    client = await start()
    ann = await connect(client, channel="a", token=token("ann"))
    bob = await connect(client, channel="kanban:b", token=token("bob"))
    gus = await connect(client, nickname="gus")
    response = await client.post(
        "/api/broadcast", json={"event": "maintenance", "data": {"in": "10m"}}, headers=SERVICE
    )
    assert response.status == 201, await response.text()
    sent = await response.json()
    assert sent["channel"] == "broadcast:all" and sent["seq"] == 1
    for peer in (ann, bob, gus):
        assert await peer.expect("event", channel="broadcast:all") == sent
    # Stored: a socket that was away reads it back by subscribing with `since`; it cannot publish there.
    late = await connect(client, channel="z", token=token("cid"))
    await late.send(type="subscribe", channel="broadcast:all", since=0)
    assert await late.expect("event", channel="broadcast:all") == sent
    await late.send(type="publish", channel="broadcast:all", event="x", data=1)
    assert (await late.expect("error"))["code"] == "forbidden"
    assert len(await _stored(client, "broadcast:all")) == 1


async def test_a_broadcast_reaches_a_socket_whose_join_is_still_reading(start) -> None:
    # Welcomed, its board's state still being read: the broadcast committed meanwhile reaches it.
    client = await start()
    engine = client.app[ENGINE]
    board = next(board for board in engine.boards if board.kind.name == "kanban")
    gate, reading = asyncio.Event(), asyncio.Event()
    get = board.live.get

    async def held(name: str):
        reading.set()
        await gate.wait()
        return await get(name)

    board.live.get = held
    bob = await connect(client, channel="kanban:held", token=token("bob"))
    await asyncio.wait_for(reading.wait(), 5)
    response = await client.post("/api/broadcast", json={"event": "notice", "data": 1}, headers=SERVICE)
    assert response.status == 201, await response.text()
    sent = await response.json()
    gate.set()
    assert await bob.expect("event", channel="broadcast:all") == sent
    assert (await bob.expect("state"))["channel"] == "kanban:held"


async def test_bad_requests_are_refused_and_store_nothing(start) -> None:
    client = await start(publish_max_bytes=2048, publish_max_channels=3)
    good = {"event": "e", "data": 1}
    cases = [
        (ONE.format("news"), "not json", 400),
        (ONE.format("news"), orjson.dumps([1, 2]).decode(), 400),
        (ONE.format("news"), orjson.dumps({"data": 1}).decode(), 400),
        (ONE.format("news"), orjson.dumps({"event": "e"}).decode(), 400),
        (ONE.format("news"), orjson.dumps({"event": "", "data": 1}).decode(), 400),
        (ONE.format("news"), orjson.dumps({"event": "e" * 101, "data": 1}).decode(), 400),
        (ONE.format("news"), orjson.dumps({**good, "id": ""}).decode(), 400),
        (ONE.format("news"), orjson.dumps({**good, "id": 5}).decode(), 400),
        (ONE.format("news"), orjson.dumps({**good, "extra": 1}).decode(), 400),
        (ONE.format("news"), orjson.dumps({**good, "data": {"t": "a\x00b"}}).decode(), 400),
        (ONE.format("news"), orjson.dumps({**good, "channels": ["x"]}).decode(), 400),
        (ONE.format("news"), orjson.dumps({**good, "data": "x" * 3000}).decode(), 413),
        (ONE.format("bad name!"), orjson.dumps(good).decode(), 400),
        (ONE.format("doc:notes"), orjson.dumps(good).decode(), 400),
        (ONE.format("nokind:x"), orjson.dumps(good).decode(), 400),
        (ONE.format("broadcast:other"), orjson.dumps(good).decode(), 400),
        (ONE.format("monitor"), orjson.dumps(good).decode(), 403),
        (ONE.format("media"), orjson.dumps(good).decode(), 403),
        (ONE.format("audit"), orjson.dumps(good).decode(), 403),
        (ONE.format("dm:ann:bob"), orjson.dumps(good).decode(), 403),
        ("/api/events", orjson.dumps(good).decode(), 400),
        ("/api/events", orjson.dumps({**good, "channels": "news"}).decode(), 400),
        ("/api/events", orjson.dumps({**good, "channels": []}).decode(), 400),
        ("/api/events", orjson.dumps({**good, "channels": ["a", "b", "c", "d"]}).decode(), 400),
        ("/api/events", orjson.dumps({**good, "channels": ["a", "a"]}).decode(), 400),
        # One bad channel among good ones: none is written.
        ("/api/events", orjson.dumps({**good, "channels": ["news", "monitor"]}).decode(), 403),
        ("/api/events", orjson.dumps({**good, "channels": ["news", "bad name"]}).decode(), 400),
        ("/api/broadcast", orjson.dumps({"event": "e"}).decode(), 400),
    ]
    headers = {**SERVICE, "Content-Type": "application/json"}
    for path, text, status in cases:
        response = await client.post(path, data=text, headers=headers)
        assert response.status == status, (path, text[:80], await response.text())
        assert (await response.json())["error"], path
    channels = {info.name for info in await client.app[ENGINE].store.list_channels()}
    assert not channels & {"news", "a", "b", "monitor", "media", "audit", "broadcast:all", "dm:ann:bob"}, channels


async def test_a_service_over_its_rate_is_told_when_to_come_back(start) -> None:
    client = await start(publish_rate=1.0, publish_burst=3)
    body = {"channels": ["a", "b"], "event": "e", "data": 1}
    assert (await client.post("/api/events", json=body, headers=SERVICE)).status == 201
    refused = await client.post("/api/events", json=body, headers=SERVICE)  # 2 more than the 1 left
    assert refused.status == 429 and (await refused.json())["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(await _stored(client, "a")) == 1
    # Another service has its own allowance; one event still fits this one's.
    assert (await client.post(ONE.format("a"), json={"event": "e", "data": 2}, headers=SERVICE)).status == 201
    other = bearer("mailer", roles=["service"])
    assert (await client.post("/api/events", json=body, headers=other)).status == 201
