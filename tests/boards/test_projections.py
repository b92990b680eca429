"""The board projections and rank keys on their own (no store): reducers never raise and never mutate,
ranks always fit between their neighbours, ties are ordered by id."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from collab.boards.drawing import DRAWING
from collab.boards.kanban import KANBAN, column_cards, show
from collab.boards.kanban_commands import decide
from collab.boards.ranks import MAX_RANK_LENGTH, is_rank, rank_between, spread_ranks
from collab.events import StoredEvent

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def event(kind: str, data: Any, seq: int = 1, user: str | None = "u1") -> StoredEvent:
    return StoredEvent("kanban:t", seq, kind, data, None, user, "n", None, NOW)


def build(events: list[tuple[str, dict[str, Any]]], projection: Any = KANBAN, user: str = "u1") -> Any:
    state = projection.initial()
    for seq, (kind, data) in enumerate(events, 1):
        state = projection.apply(state, event(kind, data, seq, user))
    return state


BOARD = build(
    [
        ("column_added", {"column": "a", "title": "A", "rank": "i"}),
        ("column_added", {"column": "b", "title": "B", "rank": "r"}),
        ("card_added", {"card": "x", "column": "a", "rank": "i", "title": "X"}),
        ("card_added", {"card": "y", "column": "a", "rank": "r", "title": "Y", "labels": ["l"]}),
        ("card_added", {"card": "z", "column": "b", "rank": "i", "title": "Z"}),
    ]
)
SKETCH = build(
    [
        ("stroke_added", {"stroke": "s1", "points": [[0, 0]], "color": "#000000", "width": 2, "tool": "pen"}),
        ("stroke_added", {"stroke": "s2", "points": [[1, 1]], "color": "#ffffff", "width": 3, "tool": "pen"}),
    ],
    DRAWING,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
IDS = st.sampled_from(["a", "b", "x", "y", "z", "s1", "s2", "new"])
FIELDS = ["column", "card", "stroke", "title", "rank", "description", "assignee", "labels", "points", "ranks"]
PAYLOAD = st.one_of(
    JSON,
    st.dictionaries(st.sampled_from(FIELDS), IDS | JSON, max_size=6),
    st.builds(
        lambda ranks, column: {"ranks": ranks, "column": column},
        st.dictionaries(IDS, st.text(max_size=3) | JSON, max_size=3),
        IDS,
    ),
)


@settings(max_examples=400)
@given(kind=st.sampled_from(sorted(KANBAN.reducers)), data=PAYLOAD, user=st.none() | st.text(max_size=3))
def test_kanban_reducers_take_any_payload_without_raising_or_mutating(kind: str, data: Any, user: Any) -> None:
    before = copy.deepcopy(BOARD)
    after = KANBAN.apply(BOARD, event(kind, data, user=user))
    assert before == BOARD
    show(after)  # still a well-formed board


@settings(max_examples=300)
@given(kind=st.sampled_from(sorted(DRAWING.reducers)), data=PAYLOAD, user=st.none() | st.text(max_size=3))
def test_drawing_reducers_take_any_payload_without_raising_or_mutating(kind: str, data: Any, user: Any) -> None:
    before = copy.deepcopy(SKETCH)
    DRAWING.apply(SKETCH, event(kind, data, user=user))
    assert before == SKETCH


def test_an_event_that_no_longer_applies_leaves_the_state_alone() -> None:
    for kind, data in [
        ("card_moved", {"card": "gone", "column": "a", "rank": "k"}),
        ("card_moved", {"card": "x", "column": "gone", "rank": "k"}),
        ("card_edited", {"card": "gone", "title": "T"}),
        ("card_added", {"card": "x", "column": "a", "rank": "k", "title": "dup"}),
        ("card_added", {"card": "w", "column": "gone", "rank": "k", "title": "orphan"}),
        ("column_renamed", {"column": "gone", "title": "T"}),
        ("column_removed", {"column": "gone"}),
    ]:
        assert KANBAN.apply(BOARD, event(kind, data)) is BOARD


def test_cards_with_one_rank_are_ordered_by_id_and_a_move_between_them_rebalances() -> None:
    # Two processes gave "q" and "p" the same rank at once: the id decides, everywhere.
    state = build(
        [
            ("column_added", {"column": "a", "title": "A", "rank": "i"}),
            ("card_added", {"card": "q", "column": "a", "rank": "i", "title": "Q"}),
            ("card_added", {"card": "p", "column": "a", "rank": "i", "title": "P"}),
            ("card_added", {"card": "r", "column": "a", "rank": "s", "title": "R"}),
        ]
    )
    assert [card["id"] for card in column_cards(state, "a")] == ["p", "q", "r"]
    events = decide(state, {"type": "card_move", "card": "r", "column": "a", "position": 1}, lambda: "n")
    assert [kind for kind, _ in events] == ["cards_rebalanced", "card_moved"]
    for seq, (kind, data) in enumerate(events, 10):
        state = KANBAN.apply(state, event(kind, data, seq))
    assert [card["id"] for card in column_cards(state, "a")] == ["p", "r", "q"]
    assert len({card["rank"] for card in state["cards"].values()}) == 3


KEYS = st.lists(st.sampled_from(["lo", "hi", "mid"]), max_size=60)


@settings(max_examples=300)
@given(choices=KEYS)
def test_a_rank_fits_between_any_two_neighbours(choices: list[str]) -> None:
    keys: list[str] = []
    for choice in choices:
        at = {"lo": 0, "hi": len(keys), "mid": len(keys) // 2}[choice]
        lo = keys[at - 1] if at > 0 else None
        hi = keys[at] if at < len(keys) else None
        key = rank_between(lo, hi)
        assert is_rank(key) and (lo is None or lo < key) and (hi is None or key < hi)
        keys.insert(at, key)
    assert keys == sorted(keys)


@given(count=st.integers(0, 3000))
def test_spread_ranks_are_short_increasing_ranks(count: int) -> None:
    keys = spread_ranks(count)
    assert len(keys) == count
    assert all(is_rank(key) for key in keys)
    assert keys == sorted(keys) and len(set(keys)) == count
    assert all(len(key) <= MAX_RANK_LENGTH - 3 for key in keys)
