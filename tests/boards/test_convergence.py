"""Property: whatever the interleaving of several clients' commands (valid or not, on one or two server
processes, with disconnects, resumes, fresh joins and retried ids), every client ends with the server's
board, which is also what a fresh replay of the log and snapshot + tail give.

Snapshots are taken every 4 events here, and a board goes idle (snapshot, state dropped) whenever its
last client leaves, so loads from snapshot + tail happen all the time."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.boards import ANN, BOB, CAT, Client, Cluster, canonical

from collab.boards.drawing import DRAWING
from collab.boards.kanban import KANBAN
from collab.projections.base import Projection, load_state

KANBAN_FAST = dataclasses.replace(KANBAN, snapshot_every=4)
DRAWING_FAST = dataclasses.replace(DRAWING, snapshot_every=4)
USERS = [ANN, BOB, CAT]

NEW = "new"  # a fresh id, made when the step is sent
SEEN = "seen"  # the version of the card in the page's view
# A reference to something on the board: mostly one the page sees (an index into its view, resolved when
# sent), sometimes a fixed name that may or may not exist.
COLUMN_REF = st.one_of(st.integers(0, 9).map(lambda n: ("column", n)), st.sampled_from(["c1", "c2", "c3"]))
CARD_REF = st.one_of(st.integers(0, 99).map(lambda n: ("card", n)), st.sampled_from(["k1", "k2", "k9"]))
STROKE_REF = st.one_of(st.integers(0, 99).map(lambda n: ("stroke", n)), st.just("s1"))
# A slot the page turns into a position in its own (possibly stale) view, clipped to what it sees.
SLOT = st.integers(0, 6)


def frame(kind: str, **fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"type": st.just(kind), **fields})


KANBAN_COMMANDS = st.one_of(
    frame("column_add", column=st.sampled_from([NEW, NEW, "c3"]), title=st.just("Column"), slot=st.none() | SLOT),
    frame("column_rename", column=COLUMN_REF, title=st.sampled_from(["Renamed", "Again"])),
    frame("column_move", column=COLUMN_REF, slot=SLOT),
    frame("column_remove", column=COLUMN_REF),
    frame("card_add", card=st.sampled_from([NEW, NEW, "k9"]), column=COLUMN_REF, title=st.just("Card"), slot=SLOT),
    frame("card_add", column=COLUMN_REF, title=st.just("Unnamed card")),
    frame(
        "card_edit",
        card=CARD_REF,
        title=st.sampled_from(["One", "Two"]),
        labels=st.lists(st.sampled_from(["bug", "ux"]), max_size=2),
        version=st.sampled_from([None, SEEN, SEEN, 1]),
    ),
    frame("card_move", card=CARD_REF, column=COLUMN_REF, slot=SLOT),
    frame("card_move", card=CARD_REF, column=COLUMN_REF, slot=SLOT),
    frame("card_move", card=CARD_REF, column=COLUMN_REF, slot=st.just(0)),  # everyone to the top at once
    frame("card_remove", card=CARD_REF),
)

POINTS = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)).map(list), min_size=1, max_size=4)
STYLE = {"color": st.just("#123456"), "width": st.just(3)}
DRAWING_COMMANDS = st.one_of(
    frame("stroke_add", stroke=st.sampled_from([NEW, NEW, NEW, "s1"]), points=POINTS, **STYLE),
    frame("stroke_add", stroke=st.just(NEW), points=POINTS, **STYLE),
    frame("stroke_points", stroke=st.just(NEW), points=POINTS, **STYLE),
    frame("cursor", x=st.integers(0, 50), y=st.integers(0, 50)),
    frame("stroke_erase", stroke=STROKE_REF),
    frame("undo"),
    frame("undo"),
    frame("clear"),
)


def _ids(view: Any, what: str) -> list[str]:
    if view is None:
        return []
    if what == "stroke":
        return [stroke["id"] for stroke in view["strokes"]]
    return sorted(view["columns" if what == "column" else "cards"])


def resolve(step: dict[str, Any], view: Any, ops: int) -> dict[str, Any]:
    """A generated step as a page would send it: references and positions taken from the page's own
    (possibly stale) view, fresh ids named, versions as the page saw them."""
    sent: dict[str, Any] = {}
    for key, value in step.items():
        if value == NEW:
            value = f"n{ops}"
        elif isinstance(value, tuple):
            ids = _ids(view, value[0])
            value = ids[value[1] % len(ids)] if ids else "none"
        if key != "slot" and value is not None:
            sent[key] = value
    if sent.get("version") == SEEN:
        card = view["cards"].get(sent["card"]) if view is not None else None
        sent["version"] = card["version"] if card is not None else 1
    if step.get("slot") is not None:
        if view is None:
            size = 0
        elif step["type"].startswith("column"):
            size = len(view["columns"]) - (1 if step["type"] == "column_move" else 0)
        else:
            size = sum(
                1 for c in view["cards"].values() if c["column"] == sent.get("column") and c["id"] != sent.get("card")
            )
        sent["position"] = min(step["slot"], max(size, 0))
    return sent


CONTROL = st.sampled_from(["disconnect", "reconnect", "fresh", "retry", "switch"])


def programs(commands: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    step = st.tuples(st.integers(0, len(USERS) - 1), st.one_of(commands, commands, commands, CONTROL))
    batches = st.lists(st.lists(step, min_size=2, max_size=8), min_size=6, max_size=20)
    return st.tuples(st.sampled_from([1, 2]), batches)


async def run(cluster: Cluster, kind: str, batches: list[list[tuple[int, Any]]]) -> None:
    processes = len(cluster.nodes)
    channel = f"{kind}:{uuid.uuid4().hex[:10]}"
    clients = [Client(cluster.nodes[n % processes], user, channel) for n, user in enumerate(USERS)]
    last_frame: dict[int, dict[str, Any]] = {}
    ops = 0

    async def act(index: int, step: Any) -> None:
        nonlocal ops
        client = clients[index]
        if step == "disconnect":
            if client.connected:
                await client.disconnect()
        elif step == "reconnect":
            if not client.connected:
                await client.connect()
        elif step == "fresh":
            if client.connected:
                await client.disconnect()
            await client.connect(resume=False)
        elif step == "switch":  # reconnect to the other process
            if client.connected:
                await client.disconnect()
            await client.connect(node=cluster.nodes[(cluster.nodes.index(client.node) + 1) % processes])
        elif step == "retry":
            if client.connected and index in last_frame:
                await client.send(**last_frame[index])
        elif client.connected:
            ops += 1
            sent = {**resolve(step, client.replica.state, ops), "id": f"op{ops}"}
            last_frame[index] = sent
            await client.send(**sent)

    async def steps_of(index: int, steps: list[Any]) -> None:
        for step in steps:
            await act(index, step)

    for n, client in enumerate(clients):
        if n != 2:  # the third starts offline
            await client.connect()
    if kind == "kanban":  # a board to work on (the steps add and remove more)
        for column in ("c1", "c2"):
            await clients[0].send(type="column_add", column=column, title=column)
        for card in ("k1", "k2", "k3"):
            await clients[1].send(type="card_add", card=card, column="c1", title=card)
    for batch in batches:
        per_client: dict[int, list[Any]] = defaultdict(list)
        for index, step in batch:
            per_client[index].append(step)
        await asyncio.gather(*(steps_of(index, steps) for index, steps in per_client.items()))
    for client in clients:
        if not client.connected:
            await client.connect()
    for client in clients:
        client.pump()

    projection: Projection = KANBAN_FAST if kind == "kanban" else DRAWING_FAST
    head = await cluster.store.head(channel)
    replay = canonical(projection.fold(projection.initial(), await cluster.store.read(channel)))
    loaded = await load_state(cluster.store, projection, channel)
    assert loaded.seq == head
    assert canonical(loaded.state) == replay, "snapshot + tail differs from a full replay"
    for node in cluster.nodes:
        live = await node.board(channel).live.get(channel)
        assert live.seq == head
        assert canonical(live.state) == replay, "the server's live board differs from a replay"
    for client in clients:
        assert client.replica.seq == head
        assert canonical(client.replica.state) == replay, f"{client.user.name}'s board differs"
        client.check_streams()
        assert not [e for e in client.errors if e["code"] not in ("bad_request", "not_found", "conflict")]
    for client in clients:
        await client.disconnect()


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_property(database_url: str, kind: str, commands: st.SearchStrategy[dict[str, Any]]) -> None:
    """Hypothesis drives the examples; one event loop and one cluster of each size serve them all (a
    fresh board per example), which keeps a hundred examples within seconds."""
    loop = asyncio.new_event_loop()
    clusters = {
        processes: loop.run_until_complete(
            Cluster.open(database_url, processes=processes, kanban=KANBAN_FAST, drawing=DRAWING_FAST)
        )
        for processes in (1, 2)
    }

    @PROPERTY
    @given(program=programs(commands))
    def converges(program: Any) -> None:
        processes, batches = program
        loop.run_until_complete(run(clusters[processes], kind, batches))

    try:
        converges()
    finally:
        for cluster in clusters.values():
            loop.run_until_complete(cluster.close())
        loop.close()


def test_kanban_clients_converge_on_the_log(database_url: str) -> None:
    check_property(database_url, "kanban", KANBAN_COMMANDS)


def test_drawing_clients_converge_on_the_log(database_url: str) -> None:
    check_property(database_url, "draw", DRAWING_COMMANDS)
