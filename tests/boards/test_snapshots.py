"""Snapshots and resume on every store: snapshot + tail equals a full replay at every seq, an idle board
is snapshotted, and a client resuming past pruned events gets the board as a `state` frame."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from support.boards import ANN, BOB, Client, Cluster, canonical
from support.waiting import wait_for

from collab.boards.drawing import DRAWING
from collab.boards.kanban import KANBAN
from collab.projections.base import load_state
from collab.store.schema import events as events_table

KANBAN_FAST = dataclasses.replace(KANBAN, snapshot_every=5)
DRAWING_FAST = dataclasses.replace(DRAWING, snapshot_every=5)


@pytest.fixture
async def fast(database_url: str) -> AsyncIterator[Cluster]:
    """A server process that snapshots every 5 events."""
    opened = await Cluster.open(database_url, kanban=KANBAN_FAST, drawing=DRAWING_FAST)
    try:
        yield opened
    finally:
        await opened.close()


async def kanban_session(cluster: Cluster, channel: str) -> None:
    ann, bob = Client(cluster.nodes[0], ANN, channel), Client(cluster.nodes[0], BOB, channel)
    await ann.connect()
    await bob.connect()
    for column in ("todo", "doing", "done"):
        await ann.send(type="column_add", column=column, title=column.title())
    for n in range(12):
        await (ann if n % 2 else bob).send(type="card_add", card=f"k{n}", column="todo", title=f"Card {n}")
        if n % 4 == 3:
            await bob.disconnect()  # not the last one: no idle snapshot
            await bob.connect()
    for n in range(0, 12, 3):
        await ann.send(type="card_move", card=f"k{n}", column="doing", position=0)
        await bob.send(type="card_edit", card=f"k{n + 1}", title=f"Edited {n}", version=1)
    await ann.disconnect()
    await bob.disconnect()  # the last one: an idle snapshot
    await ann.connect()
    await ann.send(type="column_remove", column="done")
    await ann.send(type="card_remove", card="k2")
    await ann.send(type="column_rename", column="todo", title="Backlog")
    assert not ann.errors and not bob.errors
    await ann.disconnect()


async def drawing_session(cluster: Cluster, channel: str) -> None:
    ann, bob = Client(cluster.nodes[0], ANN, channel), Client(cluster.nodes[0], BOB, channel)
    await ann.connect()
    await bob.connect()
    for n in range(14):
        await (ann if n % 3 else bob).send(
            type="stroke_add", stroke=f"s{n}", points=[[n, n], [n + 5, n * 2]], color="#336699", width=3
        )
        if n == 6:
            await ann.send(type="undo")
            await bob.send(type="stroke_erase", stroke="s3")
        if n == 9:
            await bob.send(type="clear")
    await ann.disconnect()
    await bob.disconnect()
    assert not ann.errors and not bob.errors


@pytest.mark.parametrize("kind", ["kanban", "draw"])
async def test_snapshot_and_tail_equal_a_full_replay_at_every_seq(fast: Cluster, kind: str) -> None:
    channel = f"{kind}:{uuid.uuid4().hex[:8]}"
    await (kanban_session if kind == "kanban" else drawing_session)(fast, channel)
    await fast.nodes[0].board(channel).live.close()  # snapshots under way are written
    projection = KANBAN_FAST if kind == "kanban" else DRAWING_FAST
    log = await fast.store.read(channel)
    head = log[-1].seq
    snapshot_seqs = set()
    for until in range(head + 1):
        loaded = await load_state(fast.store, projection, channel, until=until)
        assert loaded.seq == until
        replayed = projection.fold(projection.initial(), log[:until])
        assert canonical(loaded.state) == canonical(replayed), f"differs at seq {until}"
        snapshot_seqs.add(loaded.snapshot_seq)
    # Snapshots every 5 events and when the board went idle, so most loads start from one.
    assert len(snapshot_seqs - {0}) >= head // 5 - 1


async def test_a_board_whose_last_client_leaves_is_snapshotted(cluster: Cluster) -> None:
    channel = f"kanban:{uuid.uuid4().hex[:8]}"
    ann = Client(cluster.nodes[0], ANN, channel)
    await ann.connect()
    await ann.send(type="column_add", column="todo", title="To do")
    await ann.send(type="card_add", card="a", column="todo", title="A")
    assert await cluster.store.latest_snapshot(channel) is None  # far below the interval
    board = ann.replica.state
    await ann.disconnect()
    snapshot = await cluster.store.latest_snapshot(channel)
    assert snapshot is not None and snapshot.seq == 2
    assert canonical(snapshot.data) == canonical(board)
    assert channel not in cluster.nodes[0].kanban.live.states  # the memory is given back


async def test_a_resume_gets_the_missed_events_then_the_state(cluster: Cluster) -> None:
    channel = f"kanban:{uuid.uuid4().hex[:8]}"
    ann, bob = Client(cluster.nodes[0], ANN, channel), Client(cluster.nodes[0], BOB, channel)
    await ann.connect()
    await bob.connect()
    await ann.send(type="column_add", column="todo", title="To do")
    await bob.disconnect()
    for card in "abc":
        await ann.send(type="card_add", card=card, column="todo", title=card)
    await bob.connect()
    stream = bob.transport.frames
    # Presence and its `system` notices come on their own clock (coalesced 50 ms after the join).
    passing = ("presence", "presence_diff", "system")
    assert [(f["type"], f.get("seq")) for f in stream if f["type"] not in passing] == [
        ("welcome", 4),
        ("card_added", 2),
        ("card_added", 3),
        ("card_added", 4),
        ("state", 4),
        ("rooms", None),  # the room list every /ws socket gets once it has joined
    ]
    assert canonical(bob.replica.state) == canonical(ann.replica.state)


async def test_a_resume_past_pruned_events_gets_the_state_instead(database_url: str) -> None:
    channel = f"kanban:{uuid.uuid4().hex[:8]}"
    first = await Cluster.open(database_url)
    try:
        ann = Client(first.nodes[0], ANN, channel)
        await ann.connect()
        await ann.send(type="column_add", column="todo", title="To do")
        await ann.send(type="card_add", card="a", column="todo", title="A")
        kept = ann.replica.seq
        await ann.disconnect()
        bob = Client(first.nodes[0], BOB, channel)
        await bob.connect()
        for card in "bcd":
            await bob.send(type="card_add", card=card, column="todo", title=card)
        await bob.disconnect()  # idle: a snapshot at the head (5)
        async with first.store.engine.begin() as conn:  # retention: events up to the snapshot go
            await conn.execute(
                sa.delete(events_table).where(events_table.c.channel == channel, events_table.c.seq <= 5)
            )
    finally:
        await first.close()

    # A restarted server (nothing in memory): the events after `since` are gone, the board is not.
    second = await Cluster.open(database_url)
    try:
        assert await second.store.first_seq(channel) == 6
        ann.node = second.nodes[0]
        assert ann.replica.seq == kept == 2
        await ann.connect()
        stored = [f for f in ann.transport.frames if "seq" in f and f["type"] not in ("welcome", "state")]
        assert stored == []
        states = [f for f in ann.transport.frames if f["type"] == "state"]
        assert states and all(f["seq"] == 5 for f in states)
        assert sorted(ann.replica.state["cards"]) == ["a", "b", "c", "d"]
        await ann.send(type="card_remove", card="a")
        assert ann.replica.seq == 6 and sorted(ann.replica.state["cards"]) == ["b", "c", "d"]
        await ann.disconnect()
    finally:
        await second.close()


async def test_a_resume_on_a_process_that_had_no_member_meanwhile_misses_nothing(database_url: str) -> None:
    """Two server processes: ann's process keeps the board's recent events in memory while she is there;
    she leaves, bob adds an event through the other process, ann resumes on hers."""
    cluster = await Cluster.open(database_url, processes=2)
    try:
        channel = f"kanban:{uuid.uuid4().hex[:8]}"
        ann = Client(cluster.nodes[0], ANN, channel)
        bob = Client(cluster.nodes[1], BOB, channel)
        await ann.connect()
        await ann.send(type="column_add", column="todo", title="To do")
        await ann.send(type="card_add", card="a", column="todo", title="A")
        await ann.disconnect()
        # Gone once its presence notices are out.
        await wait_for(lambda: channel not in cluster.nodes[0].manager.channels, what="the empty channel dropped")
        await bob.connect()
        await bob.send(type="card_add", card="b", column="todo", title="B")
        await ann.connect()  # since=2, on the process that was away when seq 3 was published
        replayed = [f["seq"] for f in ann.transport.frames if f["type"] == "card_added"]
        assert replayed == [3]
    finally:
        await cluster.close()
