"""A document's history: snapshots while it is edited and when it goes idle, the text at any seq over
HTTP (operators only) and from `collab replay`, all through the one loader the server uses."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson
from support.auth import token
from support.waiting import eventually
from support.yjs import Changes, YClient

from app.keys import ENGINE
from collab.documents.projection import DOCUMENT
from collab.documents.room import channel_of
from collab.events import NewEvent
from collab.projections.base import load_state

ROOT = Path(__file__).resolve().parents[2]


async def write_lines(client, name: str, count: int) -> YClient:
    changes = Changes()
    peer = await YClient.open(client, name, changes)
    for i in range(count):
        await peer.insert(len(peer.text), f"line {i}\n")
    documents = client.app[ENGINE].documents
    await changes.until(lambda: documents.updates_stored >= count, f"{count} updates stored")
    return peer


async def test_the_text_at_a_seq_for_operators(start) -> None:
    client = await start()
    await write_lines(client, "minutes", 5)
    operator = {"Authorization": f"Bearer {token('op', roles=['operator'])}"}

    answer = await client.get("/api/docs/minutes", params={"at": "3"}, headers=operator)
    assert answer.status == 200
    assert await answer.json() == {
        "name": "minutes",
        "seq": 3,
        "head": 5,
        "text": "line 0\nline 1\nline 2\n",
        "root": "content",
        "roots": ["content"],
    }
    head = await (await client.get("/api/docs/minutes", headers=operator)).json()
    assert (head["seq"], head["text"].count("\n")) == (5, 5)
    past_the_head = await (await client.get("/api/docs/minutes?at=99", headers=operator)).json()
    assert past_the_head["seq"] == 5
    empty = await (await client.get("/api/docs/minutes?at=0", headers=operator)).json()
    assert (empty["seq"], empty["text"]) == (0, "")
    admin = {"Authorization": f"Bearer {token('root', roles=['admin'])}"}
    assert (await client.get("/api/docs/minutes?at=1", headers=admin)).status == 200

    assert (await client.get("/api/docs/minutes?at=1")).status == 401
    bad = await client.get("/api/docs/minutes?at=1", headers={"Authorization": "Bearer nonsense"})
    assert bad.status == 401 and (await bad.json())["error"] == "unauthorized"
    user = {"Authorization": f"Bearer {token('someone')}"}
    assert (await client.get("/api/docs/minutes?at=1", headers=user)).status == 403
    readonly = {"Authorization": f"Bearer {token('ro', roles=['readonly'])}"}
    assert (await client.get("/api/docs/minutes?at=1", headers=readonly)).status == 403
    assert (await client.get("/api/docs/never-written", headers=operator)).status == 404
    assert (await client.get("/api/docs/minutes?at=-1", headers=operator)).status == 400
    assert (await client.get("/api/docs/minutes?at=two", headers=operator)).status == 400


async def test_snapshots_while_editing_and_when_idle_and_loading_uses_them(start) -> None:
    client = await start()
    documents = client.app[ENGINE].documents
    documents.snapshot_min, documents.snapshot_max = 10, 25
    store = client.app[ENGINE].store
    peer = await write_lines(client, "long", 60)
    channel = channel_of("long")

    async def snapshot_seq() -> int:
        snapshot = await store.latest_snapshot(channel)
        return snapshot.seq if snapshot else 0

    # Taken in the background while the updates came in (at most `snapshot_max` apart).
    await eventually(lambda: snapshot_seq(), lambda seq: seq >= 35, "a snapshot while editing")
    # Loading = latest snapshot + the updates after it; the raw updates stay as history.
    loaded = await load_state(store, DOCUMENT, channel)
    assert 35 <= loaded.snapshot_seq <= 60 and loaded.seq == 60
    assert str(loaded.state.get("content", type=type(peer.text))) == str(peer)
    assert len(await store.read(channel)) == 60

    # The last connection leaves: the document is snapshotted at its head and dropped from memory.
    await peer.disconnect()
    await eventually(lambda: snapshot_seq(), lambda seq: seq == 60, "the snapshot when idle")
    assert channel not in documents.rooms

    # Time travel across snapshots: before the first one, between two, after the last.
    operator = {"Authorization": f"Bearer {token('op', roles=['operator'])}"}
    for at in (7, 30, 59):
        body = await (await client.get(f"/api/docs/long?at={at}", headers=operator)).json()
        assert body["text"] == "".join(f"line {i}\n" for i in range(at)), at


async def test_a_bad_stored_update_and_a_missed_delivery(start) -> None:
    """An update the server would refuse on the wire, written straight into the log by something else (so
    this process never got it from the broker): the next update shows the gap, the server reads it from
    the store, skips what does not decode, and the rest of the document is intact everywhere."""
    client = await start()
    first = await write_lines(client, "mixed", 2)
    store = client.app[ENGINE].store
    await store.append(NewEvent(channel_of("mixed"), "update", blob=b"\xff\xff\xff"))
    second = await write_lines(client, "mixed", 1)
    changes = Changes()
    fresh = await YClient.open(client, "mixed", changes)
    await changes.until(lambda: str(fresh).count("line") == 3, "the text around the bad update")
    assert str(first) == str(second) == str(fresh)
    loaded = await load_state(store, DOCUMENT, channel_of("mixed"))
    assert loaded.seq == 4 and str(loaded.state.get("content", type=type(fresh.text))) == str(fresh)


async def test_collab_replay_prints_the_text_at_a_seq(start, database_url: str) -> None:
    client = await start()
    await write_lines(client, "cli", 4)
    env = {key: value for key, value in os.environ.items() if not key.startswith("COLLAB_")}
    env["COLLAB_DATABASE_URL"] = database_url

    def replay(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "app", "replay", "doc:cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return orjson.loads(done.stdout)

    at_two = await asyncio.to_thread(replay, "--until", "2")
    assert at_two == {
        "channel": "doc:cli",
        "seq": 2,
        "state": {"text": "line 0\nline 1\n", "texts": {"content": "line 0\nline 1\n"}},
    }
    head = await asyncio.to_thread(replay)
    assert head["seq"] == 4 and head["state"]["text"].count("line") == 4
