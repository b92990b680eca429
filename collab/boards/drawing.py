"""Drawing boards (`draw:<board>`): the projection (pure reducers) and the validation of strokes,
erasures, undo, clear, and of the frames that are only relayed (points of a stroke in progress, cursors).
docs/boards.md is the wire reference.

State (JSON-shaped, never mutated; strokes in the order they were stored, which is the order they are
painted in):

    {"strokes": [{"id", "user_id", "points": [[x, y], …], "color": "#rrggbb", "width", "tool"}]}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from collab.errors import Conflict, NotFound, ProtocolError
from collab.events import StoredEvent
from collab.projections.base import Projection

State = dict[str, Any]

MAX_POINTS = 2000  # per stroke
MAX_CHUNK = 500  # points per relayed `stroke_points` frame
MAX_STROKES = 5000  # per board
MAX_BOARD_POINTS = 200_000  # per board, all strokes together
COORD_LIMIT = 100_000.0
MIN_WIDTH, MAX_WIDTH = 0.5, 64.0
TOOLS = ("pen", "highlighter", "eraser")
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})\Z")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")


# -- the projection ---------------------------------------------------------------------------------


def initial() -> State:
    return {"strokes": []}


def _stroke_id(data: Any) -> str | None:
    value = data.get("stroke") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def stroke_added(state: State, event: StoredEvent) -> State:
    data = event.data
    stroke = _stroke_id(data)
    if stroke is None or any(s["id"] == stroke for s in state["strokes"]):
        return state
    points, color, width, tool = data.get("points"), data.get("color"), data.get("width"), data.get("tool")
    if not isinstance(points, list) or not isinstance(color, str) or not isinstance(tool, str):
        return state
    if isinstance(width, bool) or not isinstance(width, int | float):
        return state
    added = {"id": stroke, "user_id": event.user_id, "points": points, "color": color, "width": width, "tool": tool}
    return {**state, "strokes": [*state["strokes"], added]}


def stroke_removed(state: State, event: StoredEvent) -> State:
    """`stroke_erased` and `stroke_undone`: the stroke goes, wherever it is in the stack."""
    stroke = _stroke_id(event.data)
    kept = [s for s in state["strokes"] if s["id"] != stroke]
    return state if len(kept) == len(state["strokes"]) else {**state, "strokes": kept}


def board_cleared(state: State, event: StoredEvent) -> State:
    return {**state, "strokes": []} if state["strokes"] else state


def _identity(state: State) -> State:
    return state


DRAWING = Projection(
    kind="draw",
    initial=initial,
    reducers={
        "stroke_added": stroke_added,
        "stroke_erased": stroke_removed,
        "stroke_undone": stroke_removed,
        "board_cleared": board_cleared,
    },
    dump=_identity,  # states are never mutated: a snapshot needs no copy
    # Strokes are big events and a board is loaded whole: snapshot every 100 events, so a cold load
    # reads at most a hundred strokes beyond the snapshot.
    snapshot_every=100,
)


# -- validation -------------------------------------------------------------------------------------

Events = list[tuple[str, dict[str, Any]]]


def stroke_field(frame: Mapping[str, Any]) -> str:
    value = frame.get("stroke")
    if not isinstance(value, str) or not _ID.match(value):
        raise ProtocolError("field 'stroke' must be an id: 1-64 letters, digits, '_' or '-'")
    return value


def _coordinate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProtocolError("a point is [x, y] with finite numbers")
    if abs(value) > COORD_LIMIT:
        raise ProtocolError(f"coordinates are within ±{COORD_LIMIT:g}")
    return round(value, 1)


def points_field(frame: Mapping[str, Any], limit: int) -> list[list[float]]:
    value = frame.get("points")
    if not isinstance(value, list) or not value:
        raise ProtocolError("field 'points' must be a non-empty list of [x, y]")
    if len(value) > limit:
        raise ProtocolError(f"at most {limit} points")
    points = []
    for point in value:
        if not isinstance(point, list) or len(point) != 2:
            raise ProtocolError("a point is [x, y] with finite numbers")
        points.append([_coordinate(point[0]), _coordinate(point[1])])
    return points


def style_fields(frame: Mapping[str, Any]) -> dict[str, Any]:
    """`color` (#rgb or #rrggbb, kept as lower-case #rrggbb), `width` and `tool`."""
    color = frame.get("color")
    if not isinstance(color, str) or not _COLOR.match(color):
        raise ProtocolError("field 'color' must be #rgb or #rrggbb")
    color = color.lower()
    if len(color) == 4:
        color = "#" + "".join(digit * 2 for digit in color[1:])
    width = frame.get("width")
    if isinstance(width, bool) or not isinstance(width, int | float) or not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ProtocolError(f"field 'width' must be a number from {MIN_WIDTH:g} to {MAX_WIDTH:g}")
    tool = frame.get("tool", "pen")
    if tool not in TOOLS:
        raise ProtocolError(f"field 'tool' must be one of {', '.join(TOOLS)}")
    return {"color": color, "width": round(width, 1), "tool": tool}


def cursor_fields(frame: Mapping[str, Any]) -> dict[str, float]:
    return {"x": _coordinate(frame.get("x")), "y": _coordinate(frame.get("y"))}


def decide(state: State, frame: Mapping[str, Any], user_id: str) -> Events:
    """The events a stored command frame makes, validated against `state`; raises `ProtocolError`,
    `NotFound` (no such stroke, nothing to undo) or `Conflict` (the stroke id is taken)."""
    command = frame["type"]
    strokes = state["strokes"]
    if command == "stroke_add":
        stroke = stroke_field(frame)
        points = points_field(frame, MAX_POINTS)
        style = style_fields(frame)
        if any(s["id"] == stroke for s in strokes):
            raise Conflict(f"stroke {stroke!r} exists")
        if len(strokes) >= MAX_STROKES:
            raise ProtocolError(f"the board is full ({MAX_STROKES} strokes): clear it or erase some")
        if sum(len(s["points"]) for s in strokes) + len(points) > MAX_BOARD_POINTS:
            raise ProtocolError(f"the board is full ({MAX_BOARD_POINTS} points): clear it or erase some")
        return [("stroke_added", {"stroke": stroke, "points": points, **style})]
    if command == "stroke_erase":
        stroke = stroke_field(frame)
        if not any(s["id"] == stroke for s in strokes):
            raise NotFound(f"no stroke {stroke!r} on this board")
        return [("stroke_erased", {"stroke": stroke})]
    if command == "undo":
        for candidate in reversed(strokes):
            if candidate["user_id"] == user_id:
                return [("stroke_undone", {"stroke": candidate["id"]})]
        raise NotFound("none of your strokes is on the board")
    if command == "clear":
        return [("board_cleared", {})]
    raise ProtocolError(f"unknown frame type {command!r} for a draw channel")
