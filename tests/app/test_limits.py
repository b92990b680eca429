"""What the server refuses: malformed frames, oversized frames, floods, and consumers too slow to keep up."""

from __future__ import annotations

import orjson
from aiohttp import WSMsgType
from support.raw_ws import RawSocket
from support.waiting import wait_for
from support.ws import connect

from app.keys import ENGINE
from collab.realtime.connection import State

MALFORMED = {
    "bad JSON": "this is not json",
    "not an object": "[1, 2, 3]",
    "a string": '"message"',
    "missing type": '{"content": "no type"}',
    "type not a string": '{"type": 7, "content": "x"}',
    "unknown type": '{"type": "no_such_type", "content": "x"}',
    "missing content": '{"type": "message"}',
    "content a number": '{"type": "message", "content": 42}',
    "content blank": '{"type": "message", "content": "   "}',
    "id a list": '{"type": "message", "content": "x", "id": ["list"]}',
    "since a string": '{"type": "subscribe", "channel": "other", "since": "3"}',
    "since negative": '{"type": "subscribe", "channel": "other", "since": -1}',
    "subscribe without channel": '{"type": "subscribe"}',
    "publish without data": '{"type": "publish", "event": "e"}',
    "publish event a number": '{"type": "publish", "event": 5, "data": 1}',
    "private without target": '{"type": "private", "content": "hi"}',
    "read seq a string": '{"type": "read", "seq": "1"}',
    "create_room private a string": '{"type": "create_room", "name": "r", "private": "yes"}',
}


async def test_every_malformed_frame_gets_an_error_and_stores_nothing(start) -> None:
    client = await start()
    store = client.app[ENGINE].store
    peer = await connect(client, channel="strict")
    await peer.send(type="message", content="before", id="ok")
    assert (await peer.expect("message", id="ok"))["seq"] == 1

    for case, text in MALFORMED.items():
        await peer.send_raw(text)
        # Exactly one answer, an error, and the socket stays open (the pong proves both).
        answers = [f for f in await peer.barrier() if f["type"] in ("message", "error", "event", "subscribed")]
        assert [(f["type"], f.get("code")) for f in answers] == [("error", "bad_request")], (case, answers)
        assert answers[0]["message"], case
    await peer.ws.send_bytes(orjson.dumps({"type": "message", "content": "as bytes"}))
    answers = [f for f in await peer.barrier() if f["type"] in ("message", "error")]
    assert [(f["type"], f.get("code")) for f in answers] == [("error", "bad_request")], ("binary", answers)

    # Nothing was stored anywhere, and the socket still works.
    assert (await store.head("strict"), await store.head("other"), await store.head("r")) == (1, 0, 0)
    await peer.send(type="message", content="after", id="ok2")
    assert (await peer.expect("message", id="ok2"))["seq"] == 2


async def test_frame_of_max_message_bytes_closes_with_1009(start) -> None:
    client = await start(max_message_bytes=1024)
    peer = await connect(client, channel="big")

    def frame_of(size: int) -> str:
        text = orjson.dumps({"type": "message", "content": "", "id": "edge"}).decode()
        return text.replace('"content":""', '"content":"' + "x" * (size - len(text)) + '"')

    just_under = frame_of(1023)
    assert len(just_under.encode()) == 1023
    await peer.send_raw(just_under)
    assert (await peer.expect("message", id="edge"))["seq"] == 1

    await peer.send_raw(frame_of(1024))
    code, _ = await peer.closed()
    assert code == 1009
    assert await client.app[ENGINE].store.head("big") == 1


async def test_flooding_is_rate_limited(start) -> None:
    client = await start(rate_limit_per_second=0.01, rate_burst=3)
    peer = await connect(client, channel="calm")
    for i in range(6):
        await peer.send(type="message", content=f"m{i}", id=f"m{i}")
    answers = [await peer.expect(lambda f: f["type"] in ("message", "error")) for _ in range(6)]
    # Appends are pipelined: a refusal may overtake earlier acks, so each answer is matched by its id.
    by_id = {f["id"]: f for f in answers}
    assert [by_id[f"m{i}"]["seq"] for i in range(3)] == [1, 2, 3]
    assert [(by_id[f"m{i}"]["type"], by_id[f"m{i}"]["code"]) for i in range(3, 6)] == [("error", "rate_limited")] * 3
    assert await client.app[ENGINE].store.head("calm") == 3


async def test_slow_consumer_is_closed_with_1013_while_others_continue(start) -> None:
    client = await start(send_queue_limit=16)
    manager = client.app[ENGINE].manager
    slow = await RawSocket.connect(client.host, client.port, "/ws?channel=flood&nickname=slow")
    try:
        opcode, payload = await slow.frame()
        welcome = orjson.loads(payload)
        assert (opcode, welcome["type"]) == (1, "welcome")
        slow_session = manager.sessions[welcome["client_id"]]

        publisher = await connect(client, channel="flood", nickname="pub")
        fast = await connect(client, channel="flood", nickname="fast")
        # Large messages fill the slow socket's buffers quickly; publish in bursts (each well under the
        # queue limit, so a client that reads keeps up) until the slow client is cut off.
        body = "z" * 32_000
        sent, seqs = 0, []
        while slow_session.state is State.OPEN:
            assert sent < 3000, "the slow consumer was never closed"
            for _ in range(8):
                sent += 1
                await publisher.send(type="message", content=body, id=f"p{sent}")
            await publisher.expect("message", id=f"p{sent}")
            while not seqs or seqs[-1] < sent:
                seqs.append((await fast.expect("message"))["seq"])
        assert seqs == list(range(1, sent + 1))
        print(f"\nslow consumer cut off after {sent} messages of 32 kB")

        code, texts = await slow.close_code(within=30)
        assert code == 1013
        assert texts < sent
        await wait_for(lambda: welcome["client_id"] not in manager.sessions, what="the slow session is gone")
        # The others go on as before.
        await publisher.send(type="message", content="still here", id="after")
        assert (await fast.expect("message"))["seq"] == sent + 1
        assert fast.ws.closed is False and publisher.ws.closed is False
    finally:
        slow.close()


async def test_ping_pong(start) -> None:
    client = await start()
    peer = await connect(client)
    await peer.send(type="ping")
    assert (await peer.expect("pong"))["type"] == "pong"
    # WebSocket-level pings are answered too (aiohttp's autoping on the server).
    await peer.ws.ping()
    await peer.send(type="ping")
    assert (await peer.expect("pong"))["type"] == "pong"
    assert peer.ws.closed is False and WSMsgType.TEXT
