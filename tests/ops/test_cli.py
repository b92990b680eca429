"""`collab history`, `collab search`, `collab prune` and `collab revoke`: the same code as the HTTP API,
from the shell."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from support.auth import SECRET, token
from support.databases import in_thread
from support.operators import OPERATOR
from support.ws import connect, refused

from app.cli import main
from app.keys import ENGINE
from collab.boards.kanban import KANBAN
from collab.events import NewEvent
from collab.projections.base import load_state
from collab.store.schema import events
from collab.store.sql import SqlEventStore

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
COLLAB = Path(sys.executable).with_name("collab")


async def _seed(url: str) -> None:
    store = await SqlEventStore.open(url)
    try:
        for i in range(12):
            user = ("ann", "bob")[i % 2]
            kind = "event" if i == 5 else "message"
            data = {"event": "poke", "data": {"n": i}} if kind == "event" else {"content": f"hello {i}, world"}
            await store.append(
                NewEvent("room", kind, data, user_id=user, nickname=user.title(), created_at=T0 + timedelta(hours=i))
            )
    finally:
        await store.close()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_history_text_keeps_one_line_per_event(database_url: str, monkeypatch, capsys) -> None:
    """A multi-line message (or one carrying terminal escapes) stays on its row: the columns hold."""
    text = "first line\nsecond\tline\r\n\x1b[31mred\u2028end"

    async def seed() -> None:
        store = await SqlEventStore.open(database_url)
        try:
            await store.append(NewEvent("notes", "message", {"content": text}, user_id="ann", created_at=T0))
            await store.append(NewEvent("notes", "message", {"content": "after"}, user_id="bob", created_at=T0))
        finally:
            await store.close()

    in_thread(seed())
    monkeypatch.setenv("COLLAB_DATABASE_URL", database_url)
    code, out, _ = run(capsys, "history", "notes")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].endswith("message  first line\\nsecond\\tline\\r\\n\\x1b[31mred\\u2028end")
    assert lines[1].split()[:2] == ["2", "2026-03-01T08:00:00.000Z"] and lines[1].endswith("after")
    code, out, _ = run(capsys, "history", "notes", "--json")
    assert orjson.loads(out.split("\n")[0])["content"] == text  # the exact text is one option away


def test_history_command(database_url: str, monkeypatch, capsys) -> None:
    in_thread(_seed(database_url))
    monkeypatch.setenv("COLLAB_DATABASE_URL", database_url)

    code, out, _ = run(capsys, "history", "room", "--json")
    assert code == 0
    frames = [orjson.loads(line) for line in out.splitlines()]
    assert [f["seq"] for f in frames] == list(range(1, 13))
    assert frames[0] == {
        "type": "message",
        "channel": "room",
        "seq": 1,
        "content": "hello 0, world",
        "user_id": "ann",
        "nickname": "Ann",
        "ts": "2026-03-01T08:00:00.000Z",
    }
    code, out, _ = run(capsys, "history", "room", "--json", "--user", "bob", "--type", "message")
    assert [orjson.loads(line)["seq"] for line in out.splitlines()] == [2, 4, 8, 10, 12]
    code, out, _ = run(
        capsys, "history", "room", "--json", "--since", "2026-03-01T10:00:00Z", "--until", "2026-03-01T12:00"
    )
    assert [orjson.loads(line)["seq"] for line in out.splitlines()] == [3, 4]
    code, out, _ = run(capsys, "history", "room", "--json", "--after", "9", "--text", "WORLD")
    assert [orjson.loads(line)["seq"] for line in out.splitlines()] == [10, 11, 12]
    code, out, _ = run(capsys, "history", "room", "--json", "--limit", "2", "--after", "5")
    assert [orjson.loads(line)["seq"] for line in out.splitlines()] == [6, 7]
    # For people: one line per event.
    code, out, _ = run(capsys, "history", "room", "--user", "bob", "--since", "2026-03-01T13:00:00Z")
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["6", "2026-03-01T13:00:00.000Z", "Bob", "(bob)", "event"]
    assert orjson.loads(lines[0].split()[5]) == {"event": "poke", "data": {"n": 5}}  # JSONB orders keys its way
    assert lines[1].split()[:5] == ["8", "2026-03-01T15:00:00.000Z", "Bob", "(bob)", "message"]
    assert lines[1].endswith("hello 7, world")
    code, out, _ = run(capsys, "history", "room", "--csv", "--type", "event")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["seq", "ts", "channel"] and [r[0] for r in rows[1:]] == ["6"]
    # Mistakes: an unknown channel, a bad time.
    code, out, err = run(capsys, "history", "nowhere")
    assert code == 1 and "no channel 'nowhere'" in err
    code, out, err = run(capsys, "history", "room", "--since", "last tuesday")
    assert code == 2 and "'since'" in err
    # A channel name with a typo is not an empty board either.
    code, out, err = run(capsys, "replay", "kanban:nosuch")
    assert code == 1 and out == "" and "no channel 'kanban:nosuch'" in err

    # The console script gives the same answer as the API's code path.
    env = {**os.environ, "COLLAB_DATABASE_URL": database_url}
    done = subprocess.run(
        [str(COLLAB), "history", "room", "--json", "--user", "ann"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert [orjson.loads(line)["seq"] for line in done.stdout.splitlines()] == [1, 3, 5, 7, 9, 11]


def test_search_command(database_url: str, monkeypatch, capsys) -> None:
    async def seed() -> None:
        await _seed(database_url)
        store = await SqlEventStore.open(database_url)
        try:
            dm = NewEvent("dm:ann:bob", "private", {"content": "hello\nthere"}, user_id="ann", created_at=T0)
            await store.append(dm)
        finally:
            await store.close()

    in_thread(seed())
    monkeypatch.setenv("COLLAB_DATABASE_URL", database_url)

    code, out, _ = run(capsys, "search", "hello", "--json", "--limit", "3")
    hits = [orjson.loads(line) for line in out.splitlines()]
    assert code == 0 and [(h["channel"], h["seq"]) for h in hits] == [("dm:ann:bob", 1), ("room", 12), ("room", 11)]
    assert hits[1]["snippet"] == ["", "hello", " 11, world"]
    # For people: where, when, who, type, the snippet; a direct message too (the shell reads everything).
    code, out, _ = run(capsys, "search", '"hello 7"', "--user", "bob")
    assert out.splitlines() == ["room#8  2026-03-01T15:00:00.000Z  Bob (bob)  message  «hello 7», world"]
    code, out, _ = run(capsys, "search", "there", "--channel", "dm:ann:bob")
    assert out.splitlines() == ["dm:ann:bob#1  2026-03-01T08:00:00.000Z  ann  private  hello «there»"]
    code, out, _ = run(capsys, "search", "--user", "ann", "--since", "2026-03-01T17:00:00Z", "--csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][-1] == "snippet" and [(r[2], r[0], r[-1]) for r in rows[1:]] == [("room", "11", "hello 10, world")]
    code, _, err = run(capsys, "search", '"unclosed')
    assert code == 2 and "'text': the quote at character 1 is not closed" in err


async def _backdate(store: SqlEventStore, channel: str, through: int, when: datetime) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            events.update().where(events.c.channel == channel, events.c.seq <= through).values(created_at=when)
        )


async def test_prune_keeps_board_state(start, monkeypatch, capsys, database_url: str) -> None:
    client = await start()
    store = client.app[ENGINE].store
    board = await connect(client, channel="kanban:team", token=token("ann"))
    await board.expect("state")
    await board.send(type="column_add", column="todo", title="To do", id="c1")
    await board.expect("column_added", id="c1")
    await board.send(type="column_add", column="done", title="Done", id="c2")
    await board.expect("column_added", id="c2")
    for i in range(6):
        await board.send(type="card_add", column="todo", card=f"k{i}", title=f"card {i}", id=f"a{i}")
        await board.expect("card_added", id=f"a{i}")
    await board.send(type="card_move", card="k2", column="done", position=0, id="m1")
    await board.expect("card_moved", id="m1")
    chat = await connect(client, channel="lobby", token=token("bob"))
    for i in range(6):
        await chat.send(type="message", content=f"m{i}", id=f"x{i}")
        await chat.expect("message", id=f"x{i}")
    board_head = await store.head("kanban:team")
    assert board_head == 9 and await store.latest_snapshot("kanban:team") is None  # nothing snapshotted yet
    before = (await load_state(store, KANBAN, "kanban:team")).state
    old = datetime.now(UTC) - timedelta(days=120)
    await _backdate(store, "kanban:team", 7, old)  # the last two board events are recent
    await _backdate(store, "lobby", 4, old)
    monkeypatch.setenv("COLLAB_DATABASE_URL", database_url)

    # A dry run says what would go and removes nothing.
    code = await asyncio.to_thread(main, ["prune", "--older-than", "90d", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and "would remove 11 events" in out
    assert await store.first_seq("lobby") == 1 and await store.latest_snapshot("kanban:team") is None

    code = await asyncio.to_thread(main, ["prune", "--older-than", "90d"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "kanban:team: removed 7 events (seq 1..7), state kept in the snapshot at seq 9" in out
    assert "lobby: removed 4 events (seq 1..4)" in out
    assert (await store.latest_snapshot("kanban:team")).seq == board_head
    assert await store.first_seq("kanban:team") == 8 and await store.first_seq("lobby") == 5
    # The board is what it was: from the log (snapshot + tail), and for a client resuming from before
    # the cut, which gets the state instead of the events it missed.
    assert (await load_state(store, KANBAN, "kanban:team")).state == before
    late = await connect(client, channel="kanban:team", token=token("cyd"), since=1)
    state = await late.expect("state")
    assert state["seq"] == board_head and len(state["board"]["cards"]) == 6
    code = await asyncio.to_thread(main, ["replay", "kanban:team"])
    replayed = orjson.loads(capsys.readouterr().out)
    shown = KANBAN.show(before) if KANBAN.show else before
    assert replayed["seq"] == board_head and replayed["state"] == orjson.loads(orjson.dumps(shown))
    # The chat keeps its newer messages, and the history API shows where the log starts now.
    page = await (await client.get("/api/channels/lobby/events", headers=OPERATOR)).json()
    assert [e["content"] for e in page["events"]] == ["m4", "m5"]
    listed = {c["name"]: c for c in (await (await client.get("/api/channels", headers=OPERATOR)).json())["channels"]}
    assert (listed["lobby"]["first_seq"], listed["lobby"]["events"], listed["lobby"]["head"]) == (5, 2, 6)
    # A second prune finds nothing more to do; the prune is on the audit record.
    code = await asyncio.to_thread(main, ["prune", "--older-than", "90d", "--channel", "lobby"])
    assert "removed 0 events" in capsys.readouterr().out
    page = await (await client.get("/api/channels/audit/events?type=prune", headers=OPERATOR)).json()
    [record] = page["events"]
    assert record["user_id"].startswith("cli:") and record["nickname"] == "collab prune"
    assert {c["channel"]: c["removed"] for c in record["channels"]} == {"kanban:team": 7, "lobby": 4}
    await board.barrier()


async def test_revoke_command_reaches_a_running_server(start, monkeypatch, capsys, database_url: str) -> None:
    client = await start()
    monkeypatch.setenv("COLLAB_DATABASE_URL", database_url)
    monkeypatch.setenv("COLLAB_JWT_SECRET", SECRET)
    peer = await connect(client, token=token("gil", jti="gil-1"))
    code = await asyncio.to_thread(main, ["revoke", "--jti", "gil-1", "--reason", "lost laptop"])
    assert code == 0 and "revoked token gil-1" in capsys.readouterr().out
    await client.app[ENGINE].moderation.refresh()  # what the server's poll does every few seconds
    assert (await peer.closed())[0] == 1008
    assert (await refused(client, token=token("gil", jti="gil-1")))[0] == 1008
    page = await (await client.get("/api/channels/audit/events", headers=OPERATOR)).json()
    assert [(e["type"], e["jti"], e["reason"]) for e in page["events"]] == [("revoke", "gil-1", "lost laptop")]
    code = await asyncio.to_thread(main, ["revoke", "--jti", "x", "--before", "1h"])
    assert code == 2


async def test_a_served_process_freezes_its_start_up_heap_and_collects_the_young_less_often() -> None:
    import gc

    from app.cli import GC_YOUNG_THRESHOLD, _freeze_startup_heap

    before = gc.get_threshold()
    try:
        await _freeze_startup_heap(None)
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, before[1], before[2])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
