"""Recorded board logs (tests/boards/fixtures/*.jsonl, written by scripts/record_fixture.py from a live
run) replay to the final state recorded with them: through the projection alone, from any snapshot
point, and through `collab replay` on every store."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.boards import ANN, BOB, FIXTURES, Client, Cluster, canonical, read_fixture

from app.cli import main as collab
from collab.engine import PROJECTIONS
from collab.events import NewEvent, StoredEvent
from collab.store.sql import SqlEventStore

RECORDER = Path(__file__).resolve().parents[2] / "scripts" / "record_fixture.py"


def test_there_are_fixtures_of_both_kinds() -> None:
    assert {read_fixture(path)[0]["kind"] for path in FIXTURES} == {"kanban", "draw"}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.stem)
def test_a_recorded_log_replays_to_its_recorded_state(path: Path) -> None:
    header, events, final = read_fixture(path)
    projection = PROJECTIONS.for_channel(header["channel"])
    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    assert final["seq"] == len(events)
    assert canonical(projection.fold(projection.initial(), events)) == canonical(final["state"])
    # From a snapshot at any point (through JSON, as the store keeps it) plus the tail: the same state.
    for cut in range(0, len(events) + 1, max(1, len(events) // 25)):
        snapshot = orjson.loads(orjson.dumps(projection.dump(projection.fold(projection.initial(), events[:cut]))))
        state = projection.fold(projection.restore(snapshot), events[cut:])
        assert canonical(state) == canonical(final["state"]), f"snapshot at {cut} + tail differs"


async def _load(database_url: str, channel: str, events: list[StoredEvent]) -> None:
    store = await SqlEventStore.open(database_url)
    try:
        for event in events:
            appended = await store.append(
                NewEvent(channel, event.type, event.data, None, event.user_id, event.nickname, event.op_id)
            )
            assert appended.event.seq == event.seq
    finally:
        await store.close()


def replay_command(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert collab(["replay", *args]) == 0
    return orjson.loads(capsys.readouterr().out)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.stem)
def test_collab_replay_prints_the_recorded_state(
    path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    header, events, final = read_fixture(path)
    projection = PROJECTIONS.for_channel(header["channel"])
    show = projection.show or (lambda state: state)
    channel = f"{header['kind']}:{uuid.uuid4().hex[:8]}"
    asyncio.run(_load(database_url, channel, events))
    monkeypatch.setenv("COLLAB_DATABASE_URL", database_url)

    printed = replay_command(capsys, channel)
    assert (printed["channel"], printed["seq"]) == (channel, final["seq"])
    assert canonical(printed["state"]) == canonical(show(final["state"]))
    middle = len(events) // 2
    printed = replay_command(capsys, channel, "--until", str(middle))
    assert printed["seq"] == middle
    assert canonical(printed["state"]) == canonical(show(projection.fold(projection.initial(), events[:middle])))


async def _live_board(database_url: str, channel: str) -> Any:
    cluster = await Cluster.open(database_url)
    try:
        ann, bob = Client(cluster.nodes[0], ANN, channel), Client(cluster.nodes[0], BOB, channel)
        await ann.connect()
        await bob.connect()
        await ann.send(type="column_add", column="todo", title="To do")
        await bob.send(type="card_add", card="a", column="todo", title="A", labels=["x"])
        await ann.send(type="card_add", card="b", column="todo", title="B", position=0)
        await bob.send(type="card_edit", card="b", version=1, assignee="bob")
        ann.pump()
        assert not ann.errors and not bob.errors
        return ann.replica.state
    finally:
        await cluster.close()


def test_a_fixture_is_recorded_from_a_live_board_with_one_command(database_url: str, tmp_path: Path) -> None:
    channel = f"kanban:{uuid.uuid4().hex[:8]}"
    live = asyncio.run(_live_board(database_url, channel))
    out = tmp_path / "recorded.jsonl"
    done = subprocess.run(
        [sys.executable, str(RECORDER), channel, str(out), "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    header, events, final = read_fixture(out)
    assert (header["channel"], header["kind"], len(events), final["seq"]) == (channel, "kanban", 4, 4)
    assert canonical(final["state"]) == canonical(live)
    assert [event.type for event in events] == ["column_added", "card_added", "card_added", "card_edited"]
