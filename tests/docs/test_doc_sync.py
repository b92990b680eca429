"""Documents over /ws/doc/{name} against the real app, on SQLite and PostgreSQL: pycrdt clients converge,
every update is in the log before anyone sees it, restarts lose nothing, bad frames change nothing."""

from __future__ import annotations

import asyncio
import random

import pytest
from aiohttp import ClientWSTimeout
from pycrdt import Doc, Text, create_sync_message, create_update_message, read_message
from support.auth import token
from support.yjs import Changes, YClient, close_code

from app.keys import ENGINE
from collab.documents.projection import DOCUMENT
from collab.documents.room import channel_of
from collab.projections.base import load_state


def text_of(doc: Doc) -> str:
    return str(doc.get("content", type=Text))


async def stored_text(client, name: str) -> tuple[int, str]:
    """The document as the log has it (latest snapshot + tail), the way the server loads it."""
    loaded = await load_state(client.app[ENGINE].store, DOCUMENT, channel_of(name))
    return loaded.seq, text_of(loaded.state)


async def random_edits(peer: YClient, rng: random.Random, count: int) -> None:
    for i in range(count):
        length = len(peer.text)
        if length > 5 and rng.random() < 0.25:
            at = rng.randrange(length - 2)
            await peer.delete(at, rng.randint(1, 2))
        else:
            await peer.insert(rng.randint(0, length), f"{rng.choice('abcdef')}{i}")
        if rng.random() < 0.5:
            await asyncio.sleep(0)  # let the others' frames in between


async def test_concurrent_pycrdt_clients_converge_and_every_update_is_stored(start) -> None:
    client = await start()
    changes = Changes()
    peers = [await YClient.open(client, "race", changes) for _ in range(3)]
    await asyncio.gather(*(random_edits(peer, random.Random(seed), 60) for seed, peer in enumerate(peers)))
    await changes.until(lambda: len({str(p) for p in peers}) == 1, "the three texts to converge")
    final = str(peers[0])
    assert len(final) > 50
    documents = client.app[ENGINE].documents
    await changes.until(lambda: documents.updates_stored == 180, "every update to be stored")
    seq, text = await stored_text(client, "race")
    assert (seq, text) == (180, final)

    # A graceful restart (the app closes: sockets, final snapshots, the store), then a new server on the
    # same database: a fresh client gets the same text.
    for peer in peers:
        await peer.disconnect()
    await client.close()
    again = await start()
    fresh = await YClient.open(again, "race", Changes())
    assert str(fresh) == final
    snapshot = await again.app[ENGINE].store.latest_snapshot(channel_of("race"))
    assert snapshot is not None and snapshot.seq == 180  # taken when the document went idle


async def test_an_update_reaches_the_others_only_after_it_is_stored(start) -> None:
    client = await start()
    changes = Changes()
    writer = await YClient.open(client, "order", changes)
    reader = await YClient.open(client, "order", changes)
    store = client.app[ENGINE].store
    # Hold every append until the test lets it commit.
    gate = asyncio.Event()
    append = store.append

    async def held(event):
        await gate.wait()
        return await append(event)

    store.append = held
    await writer.insert(0, "stored first")
    # A round trip behind the update (frames of a socket are handled in order): the server has it now.
    answers = len(writer.frames)
    assert writer.ws is not None
    await writer.ws.send_bytes(create_sync_message(Doc()))
    await changes.until(lambda: len(writer.frames) > answers, "the answer to a sync step 1")
    assert str(reader) == ""  # not relayed while it is not stored
    assert await store.head(channel_of("order")) == 0
    gate.set()
    await changes.until(lambda: str(reader) == "stored first", "the update at the reader")
    assert await store.head(channel_of("order")) == 1


async def test_offline_edits_merge_on_reconnect(start) -> None:
    client = await start()
    changes = Changes()
    alice = await YClient.open(client, "offline", changes)
    bob = await YClient.open(client, "offline", changes)
    await alice.insert(0, "shared ")
    await changes.until(lambda: str(bob) == "shared ", "the first edit at bob")
    await bob.disconnect()
    await bob.insert(len(bob.text), "bob-offline ")
    await alice.insert(0, "alice-online ")
    await bob.insert(0, "B ")
    await bob.connect()
    await changes.until(lambda: str(alice) == str(bob), "alice and bob to converge")
    for part in ("shared ", "bob-offline ", "alice-online ", "B "):
        assert part in str(alice)
    _, text = await stored_text(client, "offline")
    assert text == str(alice)


@pytest.mark.parametrize(
    "frame",
    [
        b"",  # nothing
        b"\x00",  # sync without a type
        b"\x00\x07\x00",  # unknown sync type
        b"\x00\x02\x05ab",  # update shorter than its length
        b"\x00\x02\x03\xff\xff\xff",  # bytes that are no Yjs update
        b"\x00\x00\x02\x01",  # state vector cut short
        b"\x00\x02\x02\x00\x00junk",  # a valid (empty) update, then junk
        b"\x01\x05\x01\x01\x01\x01x",  # awareness whose state is not JSON
        b"\x01\x07\x01\x01\x01\x03[1]",  # awareness whose state is not an object
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # a number that never ends
    ],
)
async def test_malformed_frames_close_with_1007_and_change_nothing(start, frame: bytes) -> None:
    client = await start()
    changes = Changes()
    good = await YClient.open(client, "guarded", changes)
    await good.insert(0, "intact")
    await changes.until(lambda: client.app[ENGINE].documents.updates_stored == 1, "the first update stored")
    before = len(good.frames)

    bad = await client.ws_connect("/ws/doc/guarded")
    await bad.send_bytes(frame)
    assert await close_code(bad) == 1007

    await good.insert(len(good.text), "!")  # the document still works
    watcher = await YClient.open(client, "guarded", changes)
    await changes.until(lambda: str(watcher) == "intact!", "the next edit at a newcomer")
    assert await stored_text(client, "guarded") == (2, "intact!")
    assert all(frame[0] in (0, 1) for frame in good.frames[before:])  # nothing odd relayed


async def test_a_text_frame_closes_with_1003(start) -> None:
    client = await start()
    ws = await client.ws_connect("/ws/doc/text")
    await ws.send_str("hello")
    assert await close_code(ws) == 1003


async def test_a_readonly_user_follows_but_its_updates_are_refused(start) -> None:
    client = await start()
    changes = Changes()
    writer = await YClient.open(client, "notice", changes, token=token("w", name="Writer"))
    reader = await YClient.open(client, "notice", changes, token=token("r", name="Reader", roles=["readonly"]))
    await writer.insert(0, "from the writer")
    await changes.until(lambda: str(reader) == "from the writer", "the reader to follow")

    await reader.insert(0, "vandal ")
    await reader.insert(0, "again ")
    await changes.until(lambda: len(reader.denied) == 1, "the permission-denied message")
    assert "read-only" in reader.denied[0]
    await writer.insert(len(writer.text), ".")
    await changes.until(lambda: str(reader).endswith("writer."), "the reader to keep following")
    assert str(writer) == "from the writer."
    assert await stored_text(client, "notice") == (2, "from the writer.")
    # Its sync after a reconnect is refused as well.
    await reader.disconnect()
    await reader.connect()
    await changes.until(lambda: len(reader.denied) == 2, "its sync step 2 to be refused")
    fresh = await YClient.open(client, "notice", changes)
    assert str(fresh) == "from the writer."
    assert client.app[ENGINE].documents.updates_refused == 3


async def test_awareness_is_relayed_never_stored_and_cleared_on_disconnect(start) -> None:
    client = await start()
    changes = Changes()
    alice = await YClient.open(client, "cursors", changes)
    bob = await YClient.open(client, "cursors", changes)
    await alice.send_awareness(1111, 1, {"user": {"name": "Alice", "color": "#e11d48"}, "cursor": 3})
    await changes.until(lambda: 1111 in bob.awareness, "bob to see alice")
    assert bob.awareness[1111]["user"]["name"] == "Alice"
    assert 1111 in alice.awareness  # echoed to its sender too (keeps y-websocket's idle timer fed)
    late = await YClient.open(client, "cursors", changes)  # a newcomer gets the states on joining
    await changes.until(lambda: 1111 in late.awareness, "the newcomer to see alice")

    await alice.disconnect()
    await changes.until(lambda: bob.awareness.get(1111, {}) is None, "alice's state to be removed")
    assert late.awareness[1111] is None
    assert await client.app[ENGINE].store.head(channel_of("cursors")) == 0


async def test_tokens_and_guests_follow_the_socket_policy(start) -> None:
    client = await start()
    bad = await client.ws_connect("/ws/doc/private", params={"token": "not-a-jwt"})
    assert await close_code(bad) == 1008

    strict = await start(allow_guests=False)
    guest = await strict.ws_connect("/ws/doc/private")
    assert await close_code(guest) == 1008
    member = await YClient.open(strict, "private", Changes(), token=token("m", name="Member"))
    assert member.synced

    named = await client.ws_connect("/ws/doc/" + "x" * 300)
    assert await close_code(named) == 1008


async def test_each_update_is_one_event_with_its_author(start) -> None:
    client = await start()
    changes = Changes()
    peer = await YClient.open(client, "authors", changes, token=token("ada", name="Ada"))
    await peer.insert(0, "one")
    await peer.insert(3, " two")
    store = client.app[ENGINE].store
    await changes.until(lambda: client.app[ENGINE].documents.updates_stored == 2, "two updates stored")
    events = await store.read(channel_of("authors"))
    assert [(e.seq, e.type, e.user_id, e.nickname) for e in events] == [
        (1, "update", "ada", "Ada"),
        (2, "update", "ada", "Ada"),
    ]
    replayed = Doc()
    for event in events:
        replayed.apply_update(event.blob)
    assert text_of(replayed) == "one two"


async def test_raw_protocol_sync_without_a_provider(start) -> None:
    """The bytes on the wire: the server's step 1 first, step 2 in answer to ours, updates as update messages."""
    client = await start()
    ws = await client.ws_connect("/ws/doc/raw")
    first = await ws.receive_bytes()
    assert first[:2] == b"\x00\x00"  # the server's sync step 1
    doc = Doc()
    await ws.send_bytes(create_sync_message(doc))
    answer = await ws.receive_bytes()
    assert answer[:2] == b"\x00\x01"  # step 2
    source = Doc()
    updates: list[bytes] = []
    source.observe(lambda event: updates.append(event.update))
    source.get("content", type=Text).insert(0, "raw")
    await ws.send_bytes(create_update_message(updates[0]))
    documents = client.app[ENGINE].documents
    await Changes().until(lambda: documents.updates_stored == 1, "the update to be stored")
    other = await client.ws_connect("/ws/doc/raw")
    await other.receive_bytes()
    await other.send_bytes(create_sync_message(Doc()))
    step2 = await other.receive_bytes()
    target = Doc()
    target.apply_update(read_message(step2[2:]))
    assert text_of(target) == "raw"


async def test_a_client_that_leaves_while_the_document_loads_leaves_nothing_behind(start) -> None:
    client = await start()
    documents = client.app[ENGINE].documents
    store = client.app[ENGINE].store
    gate = asyncio.Event()
    latest_snapshot = store.latest_snapshot

    async def slow(channel, max_seq=None):
        await gate.wait()
        return await latest_snapshot(channel, max_seq)

    store.latest_snapshot = slow
    # The server reads nothing while the document loads, so it never answers a close: don't wait long.
    ws = await client.ws_connect("/ws/doc/slow", timeout=ClientWSTimeout(ws_close=0.1))
    await Changes().until(lambda: channel_of("slow") in documents.rooms, "the load to start")
    await ws.close()
    await Changes().until(lambda: channel_of("slow") not in documents.rooms, "the room to be dropped")
    gate.set()
    store.latest_snapshot = latest_snapshot
    peer = await YClient.open(client, "slow", Changes())  # loads afresh and works
    await peer.insert(0, "fine")
    await Changes().until(lambda: documents.updates_stored == 1, "the update stored")
    assert set(documents.rooms) == {channel_of("slow")}


async def test_a_frame_too_large_closes_with_1009(start) -> None:
    client = await start(max_message_bytes=4096)
    ws = await client.ws_connect("/ws/doc/large")
    await ws.send_bytes(create_update_message(b"\x00" * 5000))
    assert await close_code(ws) == 1009


async def test_a_token_that_expires_while_connected_closes_with_1008(start) -> None:
    client = await start(jwt_leeway_seconds=0.0)
    changes = Changes()
    # Three seconds: long enough for the socket to open first on a busy machine.
    peer = await YClient.open(client, "expiring", changes, token=token("brief", ttl=3))
    await changes.until(lambda: peer.close_code is not None, "the server to close the socket")
    assert peer.close_code == 1008


async def test_an_expired_token_within_the_leeway_stays_connected_as_on_ws(start) -> None:
    """The same leeway as `/ws`: a token that expired 5 s ago is let in by the 30 s leeway, and its
    socket is not closed at once for being expired (it closes when the leeway runs out)."""
    client = await start(jwt_leeway_seconds=30.0)
    changes = Changes()
    late = await YClient.open(client, "leeway", changes, token=token("late", ttl=-5))
    other = await YClient.open(client, "leeway", changes, token=token("other"))
    await late.insert(0, "still here")
    await changes.until(lambda: str(other.text) == "still here", "the late client's edit to arrive")
    assert late.close_code is None
