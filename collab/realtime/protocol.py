"""The wire envelope of `/ws`: parsing client frames at the edge, encoding server frames (close codes are
collab.realtime.connection's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from collab.errors import ProtocolError
from collab.events import StoredEvent
from collab.timetext import wire_timestamp
from collab.values import in_range

MAX_ID_LENGTH = 200
MAX_CONTENT_LENGTH = 64 * 1024

# Every frame type the server sends that is not a stored event (docs/protocol.md, "Stored events"):
# clients take a frame of these types for the server's own, so no stored event may have one of them
# (a Base page's frame named `rooms`, replayed to a chat page, would replace its room list).
SERVER_FRAME_TYPES = frozenset(
    {
        "welcome",
        "subscribed",
        "unsubscribed",
        "rooms",
        "room_added",
        "heads",
        "dms",
        "presence",
        "presence_diff",
        "system",
        "read",
        "state",
        "error",
        "pong",
        "users_update",
        "metrics",
        "metrics_history",
        "stroke_points",
        "cursor",
        "cursor_left",
    }
)


def check_event_type(event_type: str) -> str:
    """`event_type` if an event may be stored under it; `ProtocolError` for the server's frame types."""
    if event_type in SERVER_FRAME_TYPES:
        raise ProtocolError(f"frame type {event_type!r} is the server's own: it cannot be sent or stored")
    return event_type


def decode_frame(text: str | bytes) -> dict[str, Any]:
    """A client frame as a dict with a string `type`, or `ProtocolError`."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError("the frame is not valid JSON") from None
    if not isinstance(frame, dict):
        raise ProtocolError("a frame must be a JSON object")
    kind = frame.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError("the frame has no string field 'type'")
    return frame


def field_str(
    frame: Mapping[str, Any],
    key: str,
    *,
    max_length: int = MAX_CONTENT_LENGTH,
    allow_empty: bool = False,
    default: str | None = None,
) -> str:
    """The string field `key` (its `default` when missing; none: required), or `ProtocolError`."""
    value = frame.get(key, default)
    if not isinstance(value, str):
        raise ProtocolError(f"field '{key}' must be a string")
    if not allow_empty and not value.strip():
        raise ProtocolError(f"field '{key}' must not be empty")
    if len(value) > max_length:
        raise ProtocolError(f"field '{key}' is longer than {max_length} characters")
    return value


def optional_id(frame: dict[str, Any]) -> str | None:
    """The client's id for an operation (echoed back; makes a retry idempotent)."""
    value = frame.get("id")
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise ProtocolError(f"field 'id' must be a string of 1-{MAX_ID_LENGTH} characters")
    return value


def optional_since(frame: dict[str, Any], key: str = "since") -> int | None:
    value = frame.get(key)
    if value is None:
        return None
    return in_range(value, key)


def event_frame(event: StoredEvent) -> dict[str, Any]:
    """A stored event as it goes on the wire: its payload's fields beside the envelope's.
    The same shape serves live delivery, replay and the history API."""
    frame: dict[str, Any] = {"type": event.type, "channel": event.channel, "seq": event.seq}
    if isinstance(event.data, dict):
        frame.update(event.data)
    elif event.data is not None:
        frame["data"] = event.data
    frame["user_id"] = event.user_id
    frame["nickname"] = event.nickname
    if event.op_id is not None:
        frame["id"] = event.op_id
    frame["ts"] = wire_timestamp(event.created_at)
    return frame


def error_frame(code: str, message: str, op_id: str | None = None, **extra: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if op_id is not None:
        frame["id"] = op_id
    frame.update(extra)
    return frame
