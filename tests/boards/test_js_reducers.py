"""The pages' board reducers (static/js/kanban-model.js, drawing-model.js, folded by replica.js as the
pages fold them) reach the state the server recorded with every board log in tests/boards/fixtures: the
JavaScript and the Python reducers cannot drift apart unnoticed. The server is the truth.

The frames are the ones the server sends (`event_frame`, and a `state` frame of the Python fold), so
what is checked is what a page would show; Node runs them through tests/node/fold_boards.mjs."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.boards import FIXTURES, canonical, read_fixture

from collab.engine import PROJECTIONS
from collab.events import StoredEvent
from collab.realtime.protocol import event_frame

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "node" / "fold_boards.mjs"
CUTS = 8  # `state` frames taken at this many points of each log, besides the start


def fold_in_node(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each case's `{seq, board}` after its frames went through the pages' replica."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    done = subprocess.run(["node", str(DRIVER)], input=orjson.dumps(cases), cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert not done.stderr, done.stderr.decode()  # a Node warning is a finding too
    return orjson.loads(done.stdout)


def state_frame(channel: str, seq: int, board: Any) -> dict[str, Any]:
    """The frame a page gets on joining (collab/boards/channels.py), through JSON as on the wire."""
    return {"type": "state", "channel": channel, "seq": seq, "board": canonical(board)}


def wire(events: list[StoredEvent]) -> list[dict[str, Any]]:
    return [canonical(event_frame(event)) for event in events]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.stem)
def test_the_page_reducers_fold_a_recorded_log_to_its_recorded_state(path: Path) -> None:
    header, events, final = read_fixture(path)
    projection = PROJECTIONS.for_channel(header["channel"])
    channel = header["channel"]
    cuts = sorted({0, *range(0, len(events) + 1, max(1, len(events) // CUTS)), len(events)})
    cases = []
    for cut in cuts:
        board = projection.fold(projection.initial(), events[:cut])
        # The events before the cut come again after the `state` frame (a resume that overlaps it): the
        # page must drop them, as it drops any event it has seen.
        frames = [state_frame(channel, cut, board), *wire(events[max(0, cut - 3) :])]
        cases.append({"kind": header["kind"], "frames": frames})
    results = fold_in_node(cases)
    for cut, result in zip(cuts, results, strict=True):
        assert result["seq"] == final["seq"], f"from the state at {cut}"
        assert canonical(result["board"]) == canonical(final["state"]), f"from the state at {cut}: JS ≠ Python"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.stem)
def test_the_page_reducers_agree_with_the_server_after_every_event(path: Path) -> None:
    """Not only at the end: a difference that a later event hides (a card edited, then removed) shows."""
    header, events, _ = read_fixture(path)
    projection = PROJECTIONS.for_channel(header["channel"])
    channel = header["channel"]
    start = state_frame(channel, 0, projection.initial())
    cases = [{"kind": header["kind"], "frames": [start, *wire(events[:n])]} for n in range(len(events) + 1)]
    results = fold_in_node(cases)
    state = projection.initial()
    for n, result in enumerate(results):
        if n:
            state = projection.apply(state, events[n - 1])
        assert canonical(result["board"]) == canonical(state), f"after seq {n} ({events[n - 1].type if n else '-'})"


def test_an_event_that_no_longer_applies_changes_nothing_on_both_sides() -> None:
    """Malformed or stale events (the reducers' no-op branches), which a recorded log rarely holds."""
    # Ids "0" are what an array's keys look like: `ranks` as a list must not rank them.
    card = {"id": "0", "column": "c", "rank": "i", "title": "T", "description": "", "assignee": None, "labels": []}
    kanban = {
        "columns": {"c": {"id": "c", "title": "C", "rank": "i"}, "0": {"id": "0", "title": "Z", "rank": "r"}},
        "cards": {"0": {**card, "version": 1}},
    }
    draw = {"strokes": []}
    odd = {
        "kanban": [
            ("columns_rebalanced", {"ranks": ["x"]}),
            ("cards_rebalanced", {"column": "c", "ranks": None}),
            ("card_added", {"card": "k", "column": "nope", "rank": "i", "title": "T"}),
            ("card_added", {"card": "k", "column": "c", "rank": "i", "title": "T", "labels": [1], "assignee": 2}),
            ("card_edited", {"card": "k", "assignee": None, "labels": "x", "title": 3}),
            ("card_moved", {"card": "k", "column": "c", "rank": 5}),
            ("column_added", {"column": "c", "title": "again", "rank": "a"}),
            ("column_renamed", {"column": "c", "title": None}),
            ("card_removed", {"card": ["k"]}),
            # A card from a snapshot taken before cards had `changed`: the edit starts recording it.
            ("card_edited", {"card": "0", "title": "T2", "assignee": None}),
        ],
        "draw": [
            ("stroke_added", {"stroke": "s", "points": "not a list", "color": "#000000", "width": 2, "tool": "pen"}),
            ("stroke_added", {"stroke": "s", "points": [[1, 2]], "color": "#000000", "width": "2", "tool": "pen"}),
            ("stroke_added", {"stroke": "s", "points": [[1, 2]], "color": None, "width": 2, "tool": "pen"}),
            ("stroke_added", {"stroke": "t", "points": [[1, 2]], "color": "#000000", "width": 2.5, "tool": "pen"}),
            ("stroke_erased", {"stroke": "nope"}),
            ("stroke_undone", {}),
        ],
    }
    cases, expected = [], []
    for kind, start in (("kanban", kanban), ("draw", draw)):
        channel = f"{kind}:odd"
        projection = PROJECTIONS.for_channel(channel)
        events = [
            StoredEvent(channel, seq, type_, data, None, "u1", "ann", None, datetime.now(UTC))
            for seq, (type_, data) in enumerate(odd[kind], start=1)
        ]
        for n in range(len(events) + 1):  # after each event: a later one must not hide a difference
            cases.append({"kind": kind, "frames": [state_frame(channel, 0, start), *wire(events[:n])]})
            expected.append(canonical(projection.fold(projection.restore(start), events[:n])))
    results = fold_in_node(cases)
    assert [canonical(result["board"]) for result in results] == expected
