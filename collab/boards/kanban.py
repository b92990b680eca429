"""Kanban boards (`kanban:<board>`): the projection, pure reducers from stored events to the board
(commands are validated in `kanban_commands.py`, ranks made in `ranks.py`). docs/boards.md is the wire
reference.

State (JSON-shaped, never mutated: every reducer returns a new state sharing what did not change, so a
snapshot can be taken of a state as it is):

    {"columns": {id: {"id", "title", "rank"}},
     "cards":   {id: {"id", "column", "rank", "title", "description", "assignee", "labels", "version",
                      "changed": {field: the version that last changed it}}}}

`changed` is what lets two people edit different fields of one card without a conflict: an edit based on
an older version conflicts only on a field changed after that version (`kanban_commands._card_edit`).
Cards from snapshots taken before it existed have no `changed`; `changed_at` then says every field
changed at the card's version, which is the old rule (any stale edit conflicts).

Order: columns by (rank, id), the cards of a column by (rank, id). Ranks are strings compared as plain
strings (code point order, the same in Python and JavaScript); the id breaks ties, so two cards given the
same rank by two server processes at once still have one order everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collab.events import StoredEvent
from collab.projections.base import Projection

State = dict[str, Any]


def ordered(items: Mapping[str, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(items.values(), key=lambda item: (item["rank"], item["id"]))


def column_cards(state: State, column: str) -> list[Mapping[str, Any]]:
    return ordered({key: card for key, card in state["cards"].items() if card["column"] == column})


# -- the projection ---------------------------------------------------------------------------------
#
# Reducers never raise on a stored event: a field of the wrong type, an unknown card or column, a
# duplicate id — the state stays as it was. Validation proper happens in `decide`, before storing.


def initial() -> State:
    return {"columns": {}, "cards": {}}


def _text(data: Any, key: str) -> str | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _labels(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(label, str) for label in value):
        return list(value)
    return None


def _with(state: State, key: str, items: dict[str, Any]) -> State:
    return {**state, key: items}


def column_added(state: State, event: StoredEvent) -> State:
    column, title, rank = (_text(event.data, k) for k in ("column", "title", "rank"))
    if column is None or title is None or rank is None or column in state["columns"]:
        return state
    return _with(state, "columns", {**state["columns"], column: {"id": column, "title": title, "rank": rank}})


def _column_set(state: State, event: StoredEvent, field: str) -> State:
    """The column named in the event with `field` set to the event's value (unchanged if either is missing)."""
    column, value = _text(event.data, "column"), _text(event.data, field)
    current = state["columns"].get(column)
    if current is None or value is None:
        return state
    return _with(state, "columns", {**state["columns"], column: {**current, field: value}})


def column_renamed(state: State, event: StoredEvent) -> State:
    return _column_set(state, event, "title")


def column_moved(state: State, event: StoredEvent) -> State:
    return _column_set(state, event, "rank")


def column_removed(state: State, event: StoredEvent) -> State:
    column = _text(event.data, "column")
    if column not in state["columns"]:
        return state
    columns = {key: value for key, value in state["columns"].items() if key != column}
    cards = {key: card for key, card in state["cards"].items() if card["column"] != column}
    return {**state, "columns": columns, "cards": cards}


def columns_rebalanced(state: State, event: StoredEvent) -> State:
    ranks = event.data.get("ranks") if isinstance(event.data, dict) else None
    if not isinstance(ranks, dict):
        return state
    columns = dict(state["columns"])
    for column, rank in ranks.items():
        if column in columns and isinstance(rank, str):
            columns[column] = {**columns[column], "rank": rank}
    return _with(state, "columns", columns)


CARD_FIELDS = ("title", "description", "assignee", "labels")


def changed_at(card: Mapping[str, Any], field: str) -> int:
    """The version of `card` that last changed `field` (its current version when not recorded)."""
    changed = card.get("changed")
    version = changed.get(field) if isinstance(changed, dict) else None
    return version if isinstance(version, int) else card["version"]


def card_added(state: State, event: StoredEvent) -> State:
    data = event.data
    card, column, rank, title = (_text(data, k) for k in ("card", "column", "rank", "title"))
    if card is None or rank is None or title is None or card in state["cards"] or column not in state["columns"]:
        return state
    added = {
        "id": card,
        "column": column,
        "rank": rank,
        "title": title,
        "description": _text(data, "description") or "",
        "assignee": _text(data, "assignee"),
        "labels": _labels(data.get("labels")) or [],
        "version": 1,
        "changed": dict.fromkeys(CARD_FIELDS, 1),
    }
    return _with(state, "cards", {**state["cards"], card: added})


def card_edited(state: State, event: StoredEvent) -> State:
    data = event.data
    current = state["cards"].get(_text(data, "card"))
    if current is None:
        return state
    edited = dict(current)
    for key in ("title", "description"):
        value = _text(data, key)
        if value is not None:
            edited[key] = value
    if "assignee" in data and (data["assignee"] is None or isinstance(data["assignee"], str)):
        edited["assignee"] = data["assignee"]
    labels = _labels(data.get("labels"))
    if labels is not None:
        edited["labels"] = labels
    version = current["version"] + 1
    # A field the event carries with the value it had already is not changed by it.
    edited["changed"] = {
        field: version if edited[field] != current[field] else changed_at(current, field) for field in CARD_FIELDS
    }
    edited["version"] = version
    return _with(state, "cards", {**state["cards"], current["id"]: edited})


def card_moved(state: State, event: StoredEvent) -> State:
    column, rank = _text(event.data, "column"), _text(event.data, "rank")
    current = state["cards"].get(_text(event.data, "card"))
    if current is None or rank is None or column not in state["columns"]:
        return state
    return _with(state, "cards", {**state["cards"], current["id"]: {**current, "column": column, "rank": rank}})


def card_removed(state: State, event: StoredEvent) -> State:
    card = _text(event.data, "card")
    if card not in state["cards"]:
        return state
    return _with(state, "cards", {key: value for key, value in state["cards"].items() if key != card})


def cards_rebalanced(state: State, event: StoredEvent) -> State:
    column = _text(event.data, "column")
    ranks = event.data.get("ranks") if isinstance(event.data, dict) else None
    if column is None or not isinstance(ranks, dict):
        return state
    cards = dict(state["cards"])
    for card, rank in ranks.items():
        current = cards.get(card)
        if current is not None and current["column"] == column and isinstance(rank, str):
            cards[card] = {**current, "rank": rank}
    return _with(state, "cards", cards)


def show(state: State) -> dict[str, Any]:
    """The board as `collab replay` prints it: columns in order, each with its cards in order."""
    return {
        "columns": [
            {**column, "cards": [dict(card) for card in column_cards(state, column["id"])]}
            for column in ordered(state["columns"])
        ]
    }


def _identity(state: State) -> State:
    return state


KANBAN = Projection(
    kind="kanban",
    initial=initial,
    reducers={
        "column_added": column_added,
        "column_renamed": column_renamed,
        "column_moved": column_moved,
        "column_removed": column_removed,
        "columns_rebalanced": columns_rebalanced,
        "card_added": card_added,
        "card_edited": card_edited,
        "card_moved": card_moved,
        "card_removed": card_removed,
        "cards_rebalanced": cards_rebalanced,
    },
    # States are never mutated (see the module docstring), so a snapshot needs no copy.
    dump=_identity,
    # Board events are small and a board is loaded whole: a snapshot every 200 events keeps a cold load
    # under a couple of hundred events to fold, for a snapshot the size of the board.
    snapshot_every=200,
    show=show,
)
