"""Gaps in the rate limits (issue 11, item 10), tried as an attacker would: binary frames that were never
counted, `read` frames that are cheap to send and dear to serve, and more connections for more budget."""

from __future__ import annotations

from support.auth import token
from support.waiting import wait_for
from support.ws import connect, refused

from app.keys import DOC_BUDGETS, ENGINE, USER_BUDGETS
from collab.realtime.limits import frame_cost


async def answers(peer, count: int, kinds: tuple[str, ...]) -> list[dict]:
    """The next `count` frames of the given types (others, like `presence`, are skipped)."""
    return [await peer.expect(lambda f: f["type"] in kinds) for _ in range(count)]


async def test_binary_frames_take_from_the_budget(start) -> None:
    client = await start(rate_limit_per_second=0.01, rate_burst=3)
    peer = await connect(client, channel="calm")
    for _ in range(5):
        await peer.ws.send_bytes(b"\x00" * 64)
    errors = await answers(peer, 5, ("error",))
    assert [f["code"] for f in errors] == ["bad_request"] * 3 + ["rate_limited"] * 2, errors
    # The budget is spent: a text frame is refused too, and nothing is stored.
    await peer.send(type="message", content="after the flood", id="m1")
    error = await peer.expect("error")
    assert (error["code"], error.get("id")) == ("rate_limited", "m1")
    assert await client.app[ENGINE].store.head("calm") == 0


async def test_a_read_flood_is_limited_sooner_than_a_chat_flood(start) -> None:
    burst = 100
    client = await start(rate_limit_per_second=0.01, rate_burst=burst)
    chatter = await connect(client, channel="busy", token=token("chatter"))
    reader = await connect(client, channel="busy", token=token("reader"))
    await chatter.send(type="message", content="something to read", id="first")
    await chatter.expect("message", id="first")

    for i in range(burst - 1):  # the budget that is left after the first message
        await chatter.send(type="message", content=f"chat {i}", id=f"c{i}")
    acks = await answers(chatter, burst - 1, ("message", "error"))
    assert [f for f in acks if f["type"] == "error"] == []
    assert await client.app[ENGINE].store.head("busy") == burst

    reads = 20
    served = burst // frame_cost("read")
    for i in range(reads):
        await reader.send(type="read", seq=1, id=f"r{i}")
    replies = await answers(reader, reads, ("error", "read"))
    receipts = [f for f in replies if f["type"] == "read"]
    limited = [f for f in replies if f["type"] == "error"]
    assert len(receipts) == served and all(f["user_id"] == "reader" for f in receipts), replies
    assert [(f["code"], f["id"]) for f in limited] == [("rate_limited", f"r{i}") for i in range(served, reads)]


async def test_two_connections_of_one_user_share_the_user_budget(start) -> None:
    client = await start(user_rate_limit_per_second=0.01, user_rate_burst=10)
    ann1 = await connect(client, channel="shared", token=token("ann"))
    ann2 = await connect(client, channel="shared", token=token("ann"))
    bob = await connect(client, channel="other", token=token("bob"))
    for i in range(6):
        await ann1.send(type="message", content=f"a{i}", id=f"a{i}")
    # Answered before ann2 sends: two sockets' frames are read by two tasks, in no fixed order between them.
    first = {f["id"]: f for f in await answers(ann1, 6, ("message", "error"))}
    assert all(first[f"a{i}"]["type"] == "message" for i in range(6))
    for peer, tag in ((ann2, "b"), (bob, "c")):
        for i in range(6):
            await peer.send(type="message", content=f"{tag}{i}", id=f"{tag}{i}")
    # ann2's own connection budget is untouched, but ann has 4 left of the 10 her connections share.
    mine = {}
    while len(mine) < 6:
        frame = await ann2.expect(lambda f: f["type"] in ("message", "error") and f.get("id", "").startswith("b"))
        mine[frame["id"]] = frame
    assert [mine[f"b{i}"]["type"] for i in range(6)] == ["message"] * 4 + ["error"] * 2
    assert {mine[f"b{i}"]["code"] for i in (4, 5)} == {"rate_limited"}
    # Another user has a budget of its own.
    theirs = {f["id"]: f for f in await answers(bob, 6, ("message", "error"))}
    assert [theirs[f"c{i}"]["type"] for i in range(6)] == ["message"] * 6
    assert await client.app[ENGINE].store.head("shared") == 10

    # The user's budget goes with their last connection; the next one starts with a full one.
    budgets = client.app[USER_BUDGETS]
    await ann1.close()
    await ann2.close()
    await wait_for(lambda: budgets.connections("ann") == 0, what="ann's connections to be gone")
    assert len(budgets) == 1  # bob's
    again = await connect(client, channel="shared", token=token("ann"))
    await again.send(type="message", content="back", id="back")
    assert (await again.expect(lambda f: f.get("id") == "back"))["type"] == "message"


async def test_a_user_opens_connections_up_to_the_cap(start) -> None:
    client = await start(max_connections_per_user=2)
    ann_token = token("ann")
    first = await connect(client, channel="lobby", token=ann_token)
    await connect(client, channel="lobby", token=ann_token)
    code, frames = await refused(client, channel="lobby", token=ann_token)
    assert code == 1008
    assert [(f["type"], f["code"]) for f in frames] == [("error", "limit_exceeded")], frames
    # Someone else is let in, and so is ann once one of hers has gone.
    await connect(client, channel="lobby", token=token("bob"))
    await first.close()
    budgets = client.app[USER_BUDGETS]
    await wait_for(lambda: budgets.connections("ann") == 1, what="ann's closed connection to be counted out")
    await connect(client, channel="lobby", token=ann_token)


async def test_document_sockets_are_capped_and_share_the_users_budget(start) -> None:
    """`/ws/doc` had neither: a user could open any number of document connections, each with a full
    budget of its own."""
    client = await start(max_connections_per_user=2, user_rate_limit_per_second=0.01, user_rate_burst=4)
    ann = token("ann")
    first = await client.ws_connect(f"/ws/doc/notes?token={ann}")
    second = await client.ws_connect(f"/ws/doc/notes?token={ann}")
    third = await client.ws_connect(f"/ws/doc/notes?token={ann}")
    assert (await third.receive()).type.name in ("CLOSE", "CLOSED", "CLOSING")
    assert third.close_code == 1008
    budgets = client.app[DOC_BUDGETS]
    assert budgets.connections("ann") == 2
    # Two connections, one budget of four frames: two frames each spend it all.
    user_bucket = budgets._buckets["ann"]
    for ws in (first, second, first, second):
        await ws.send_bytes(b"\x00\x00\x01\x00")  # a sync step 1 (empty state vector): one frame each
    await wait_for(lambda: user_bucket.tokens < 1, what="the user's shared budget to be spent")
    await first.close()
    await second.close()
    await wait_for(lambda: budgets.connections("ann") == 0, what="ann's document connections to be gone")
    assert len(budgets) == 0
