"""Kanban commands: `decide` validates a client's command against the board as it is now and says which
events to store (the reducers that fold them are `kanban.py`). A refused command stores nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from collab.boards.kanban import CARD_FIELDS, State, changed_at, column_cards, ordered
from collab.boards.ranks import MAX_RANK_LENGTH, rank_between, spread_ranks
from collab.errors import Conflict, NotFound, ProtocolError
from collab.realtime.protocol import field_str

MAX_COLUMNS = 50
MAX_CARDS = 2000
MAX_COLUMN_TITLE = 100
MAX_CARD_TITLE = 300
MAX_DESCRIPTION = 5000
MAX_ASSIGNEE = 100
MAX_LABELS = 10
MAX_LABEL = 40
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")

Events = list[tuple[str, dict[str, Any]]]


class VersionConflict(Conflict):
    """An edit based on an older version of the card that would overwrite a field someone else changed
    since; `card` is the current card, `fields` the edit's fields in conflict (in `CARD_FIELDS` order)."""

    def __init__(self, message: str, card: Mapping[str, Any], fields: list[str]) -> None:
        super().__init__(message)
        self.card = dict(card)
        self.fields = list(fields)


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
    return field_str(frame, key, max_length=limit, allow_empty=True, default="")


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


def _existing(state: State, frame: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The column or card (`key`) the frame names, or `NotFound`."""
    item_id = _id_field(frame, key)
    found = state[f"{key}s"].get(item_id)
    if found is None:
        raise NotFound(f"no {key} {item_id!r} on this board")
    return found


def _column(state: State, frame: Mapping[str, Any]) -> Mapping[str, Any]:
    return _existing(state, frame, "column")


def _card(state: State, frame: Mapping[str, Any]) -> Mapping[str, Any]:
    return _existing(state, frame, "card")


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
        conflicts = conflicting_fields(card, version, changes)
        if conflicts:
            raise VersionConflict(
                f"card {card['id']!r} is at version {card['version']}, the edit was based on {version}; "
                f"changed since: {', '.join(conflicts)}",
                card,
                conflicts,
            )
    return [("card_edited", {"card": card["id"], **changes})]


def conflicting_fields(card: Mapping[str, Any], version: int, changes: Mapping[str, Any]) -> list[str]:
    """The fields of an edit based on `version` of `card` that would overwrite someone else's change: the
    field changed after `version` and the edit gives it another value than it has now. Fields nobody
    changed since merge (a title edit and a description edit of one version both go through). A
    `version` the card never had (ahead of it) conflicts on every field of the edit."""
    if version > card["version"]:
        return [field for field in CARD_FIELDS if field in changes]
    return [
        field
        for field in CARD_FIELDS
        if field in changes and changed_at(card, field) > version and changes[field] != card[field]
    ]


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
