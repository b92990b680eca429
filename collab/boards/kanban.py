"""Kanban boards (`kanban:<board>`): the projection (pure reducers) and `decide`, which validates a
client's command against the current state and says which events to store (ranks: `ranks.py`).
docs/boards.md is the wire reference.

State (JSON-shaped, never mutated: every reducer returns a new state sharing what did not change, so a
snapshot can be taken of a state as it is):

    {"columns": {id: {"id", "title", "rank"}},
     "cards":   {id: {"id", "column", "rank", "title", "description", "assignee", "labels", "version"}}}

Order: columns by (rank, id), the cards of a column by (rank, id). Ranks are strings compared as plain
strings (code point order, the same in Python and JavaScript); the id breaks ties, so two cards given the
same rank by two server processes at once still have one order everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from collab.boards.ranks import MAX_RANK_LENGTH, rank_between, spread_ranks
from collab.errors import Conflict, NotFound, ProtocolError
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


def column_renamed(state: State, event: StoredEvent) -> State:
    column, title = _text(event.data, "column"), _text(event.data, "title")
    current = state["columns"].get(column)
    if current is None or title is None:
        return state
    return _with(state, "columns", {**state["columns"], column: {**current, "title": title}})


def column_moved(state: State, event: StoredEvent) -> State:
    column, rank = _text(event.data, "column"), _text(event.data, "rank")
    current = state["columns"].get(column)
    if current is None or rank is None:
        return state
    return _with(state, "columns", {**state["columns"], column: {**current, "rank": rank}})


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
    edited["version"] = current["version"] + 1
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

# -- commands ---------------------------------------------------------------------------------------

MAX_COLUMNS = 50
MAX_CARDS = 2000
MAX_COLUMN_TITLE = 100
MAX_CARD_TITLE = 300
MAX_DESCRIPTION = 5000
MAX_ASSIGNEE = 100
MAX_LABELS = 10
MAX_LABEL = 40
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Events = list[tuple[str, dict[str, Any]]]


class VersionConflict(Conflict):
    """An edit based on a version of the card that is not the current one; `card` is the current card."""

    def __init__(self, message: str, card: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.card = dict(card)


def _id_field(frame: Mapping[str, Any], key: str) -> str:
    value = frame.get(key)
    if not isinstance(value, str) or not _ID.match(value):
        raise ProtocolError(f"field '{key}' must be an id: 1-64 letters, digits, '_' or '-'")
    return value


def _title(frame: Mapping[str, Any], key: str, limit: int) -> str:
    value = frame.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ProtocolError(f"field '{key}' must be a non-empty string")
    value = value.strip()
    if len(value) > limit:
        raise ProtocolError(f"field '{key}' is longer than {limit} characters")
    return value


def _optional_text(frame: Mapping[str, Any], key: str, limit: int) -> str:
    value = frame.get(key, "")
    if not isinstance(value, str):
        raise ProtocolError(f"field '{key}' must be a string")
    if len(value) > limit:
        raise ProtocolError(f"field '{key}' is longer than {limit} characters")
    return value


def _assignee(frame: Mapping[str, Any]) -> str | None:
    value = frame.get("assignee")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_ASSIGNEE:
        raise ProtocolError(f"field 'assignee' must be null or a string of at most {MAX_ASSIGNEE} characters")
    return value.strip() or None


def _label_list(frame: Mapping[str, Any]) -> list[str]:
    value = frame.get("labels", [])
    if not isinstance(value, list) or len(value) > MAX_LABELS:
        raise ProtocolError(f"field 'labels' must be a list of at most {MAX_LABELS} strings")
    labels: list[str] = []
    for label in value:
        if not isinstance(label, str) or not label.strip() or len(label.strip()) > MAX_LABEL:
            raise ProtocolError(f"each label must be a non-empty string of at most {MAX_LABEL} characters")
        if label.strip() not in labels:
            labels.append(label.strip())
    return labels


def _position(frame: Mapping[str, Any], size: int, *, required: bool) -> int:
    """An index into a list of `size` items where one is inserted: 0 … size (default: the end)."""
    value = frame.get("position")
    if value is None and not required:
        return size
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= size:
        raise ProtocolError(f"field 'position' must be a whole number from 0 to {size}")
    return value


def _column(state: State, frame: Mapping[str, Any]) -> Mapping[str, Any]:
    column = _id_field(frame, "column")
    found = state["columns"].get(column)
    if found is None:
        raise NotFound(f"no column {column!r} on this board")
    return found


def _card(state: State, frame: Mapping[str, Any]) -> Mapping[str, Any]:
    card = _id_field(frame, "card")
    found = state["cards"].get(card)
    if found is None:
        raise NotFound(f"no card {card!r} on this board")
    return found


def _place(
    siblings: list[Mapping[str, Any]], position: int, rebalance: Callable[[dict[str, str]], tuple[str, dict[str, Any]]]
) -> tuple[str, Events]:
    """The rank for an item inserted at `position` among `siblings` (in order, the item itself not
    among them), and the rebalance event to store first when the neighbours leave no short key."""
    lo = siblings[position - 1]["rank"] if position > 0 else None
    hi = siblings[position]["rank"] if position < len(siblings) else None
    try:
        rank: str | None = rank_between(lo, hi)
    except ValueError:  # equal neighbours (two processes chose one rank) or a foreign key: rebalance
        rank = None
    if rank is not None and len(rank) <= MAX_RANK_LENGTH:
        return rank, []
    keys = spread_ranks(len(siblings) + 1)
    ranks = {item["id"]: key for item, key in zip(siblings, keys[:position] + keys[position + 1 :], strict=True)}
    return keys[position], [rebalance(ranks)]


def decide(state: State, frame: Mapping[str, Any], new_id: Callable[[], str]) -> Events:
    """The events a command frame stores, validated against `state`; raises `ProtocolError` (malformed),
    `NotFound` (unknown card or column), `Conflict` (duplicate id) or `VersionConflict` (stale edit).
    `new_id()` names a column or card the client did not name."""
    command = frame["type"]
    handler = COMMANDS.get(command)
    if handler is None:
        raise ProtocolError(f"unknown frame type {command!r} for a kanban channel")
    return handler(state, frame, new_id)


def _column_add(state: State, frame: Mapping[str, Any], new_id: Callable[[], str]) -> Events:
    column = _id_field(frame, "column") if frame.get("column") is not None else new_id()
    title = _title(frame, "title", MAX_COLUMN_TITLE)
    if column in state["columns"]:
        raise Conflict(f"column {column!r} exists")
    if len(state["columns"]) >= MAX_COLUMNS:
        raise ProtocolError(f"a board has at most {MAX_COLUMNS} columns")
    columns = ordered(state["columns"])
    rank, first = _place(columns, _position(frame, len(columns), required=False), _columns_rebalance)
    return [*first, ("column_added", {"column": column, "title": title, "rank": rank})]


def _columns_rebalance(ranks: dict[str, str]) -> tuple[str, dict[str, Any]]:
    return "columns_rebalanced", {"ranks": ranks}


def _column_rename(state: State, frame: Mapping[str, Any], new_id: Callable[[], str]) -> Events:
    column = _column(state, frame)
    return [("column_renamed", {"column": column["id"], "title": _title(frame, "title", MAX_COLUMN_TITLE)})]


def _column_move(state: State, frame: Mapping[str, Any], new_id: Callable[[], str]) -> Events:
    column = _column(state, frame)
    others = [c for c in ordered(state["columns"]) if c["id"] != column["id"]]
    position = _position(frame, len(others), required=True)
    if [c["id"] for c in ordered(state["columns"])].index(column["id"]) == position:
        return [("column_moved", {"column": column["id"], "rank": column["rank"]})]
    rank, first = _place(others, position, _columns_rebalance)
    return [*first, ("column_moved", {"column": column["id"], "rank": rank})]


def _column_remove(state: State, frame: Mapping[str, Any], new_id: Callable[[], str]) -> Events:
    return [("column_removed", {"column": _column(state, frame)["id"]})]


def _cards_rebalance(column: str) -> Callable[[dict[str, str]], tuple[str, dict[str, Any]]]:
    return lambda ranks: ("cards_rebalanced", {"column": column, "ranks": ranks})


def _card_add(state: State, frame: Mapping[str, Any], new_id: Callable[[], str]) -> Events:
    card = _id_field(frame, "card") if frame.get("card") is not None else new_id()
    column = _column(state, frame)
    fields = {
        "title": _title(frame, "title", MAX_CARD_TITLE),
        "description": _optional_text(frame, "description", MAX_DESCRIPTION),
        "assignee": _assignee(frame),
        "labels": _label_list(frame),
    }
    if card in state["cards"]:
        raise Conflict(f"card {card!r} exists")
    if len(state["cards"]) >= MAX_CARDS:
        raise ProtocolError(f"a board has at most {MAX_CARDS} cards")
    siblings = column_cards(state, column["id"])
    position = _position(frame, len(siblings), required=False)
    rank, first = _place(siblings, position, _cards_rebalance(column["id"]))
    return [*first, ("card_added", {"card": card, "column": column["id"], "rank": rank, **fields})]


def _card_edit(state: State, frame: Mapping[str, Any], new_id: Callable[[], str]) -> Events:
    card = _card(state, frame)
    changes: dict[str, Any] = {}
    if "title" in frame:
        changes["title"] = _title(frame, "title", MAX_CARD_TITLE)
    if "description" in frame:
        changes["description"] = _optional_text(frame, "description", MAX_DESCRIPTION)
    if "assignee" in frame:
        changes["assignee"] = _assignee(frame)
    if "labels" in frame:
        changes["labels"] = _label_list(frame)
    if not changes:
        raise ProtocolError(f"card_edit needs at least one of {', '.join(CARD_FIELDS)}")
    version = frame.get("version")
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ProtocolError("field 'version' must be a whole number ≥ 1")
        if version != card["version"]:
            raise VersionConflict(
                f"card {card['id']!r} is at version {card['version']}, the edit was based on {version}", card
            )
    return [("card_edited", {"card": card["id"], **changes})]


def _card_move(state: State, frame: Mapping[str, Any], new_id: Callable[[], str]) -> Events:
    card = _card(state, frame)
    column = _column(state, frame)
    siblings = column_cards(state, column["id"])
    others = [c for c in siblings if c["id"] != card["id"]]
    position = _position(frame, len(others), required=True)
    if card["column"] == column["id"] and siblings.index(card) == position:
        # Already there: keep its rank (a move to where it is must not reorder ties).
        return [("card_moved", {"card": card["id"], "column": column["id"], "rank": card["rank"]})]
    rank, first = _place(others, position, _cards_rebalance(column["id"]))
    return [*first, ("card_moved", {"card": card["id"], "column": column["id"], "rank": rank})]


def _card_remove(state: State, frame: Mapping[str, Any], new_id: Callable[[], str]) -> Events:
    return [("card_removed", {"card": _card(state, frame)["id"]})]


COMMANDS: dict[str, Callable[[State, Mapping[str, Any], Callable[[], str]], Events]] = {
    "column_add": _column_add,
    "column_rename": _column_rename,
    "column_move": _column_move,
    "column_remove": _column_remove,
    "card_add": _card_add,
    "card_edit": _card_edit,
    "card_move": _card_move,
    "card_remove": _card_remove,
}
