"""What a commit tells the other server processes, through PostgreSQL's NOTIFY.

The group-commit writer sends one notification per batch, inside the batch's transaction: PostgreSQL
delivers it only if the transaction commits, and delivers the notifications of committed transactions
in commit order. So no process hears of an event that is not stored, and a channel's notifications
arrive in seq order. A notification is a hint, never the truth: it names, per channel, the seqs the
batch stored, and carries the events themselves only when they fit in PostgreSQL's payload limit
(8000 bytes); a listener reads anything else from the log by seq (collab.store.pg_broker).

Payload (JSON): `{"n": node, "c": {channel: [first, last], …}, "e": [event, …]}` with each event as
`[channel, seq, type, data, blob (base64) or null, user_id, nickname, op_id, created_at (ISO 8601)]`;
`"e"` is left out when the events would not fit, and the ranges alone are then split over as many
notifications as it takes.

Relayed frames (not stored) go on their own notification channel, one frame each:
`{"n": node, "c": channel, "f": frame}` with the frame's bytes values as `{"$b": base64}`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson

from collab.events import StoredEvent

EVENTS = "collab_events"
RELAYS = "collab_relays"
# PostgreSQL refuses a payload of 8000 bytes or more; the rest of the statement needs none of it.
MAX_PAYLOAD = 7900


def commit_payloads(node: str, stored: Iterable[StoredEvent]) -> list[str]:
    """The notifications of one committed batch (the events in commit order): one, with the events
    inline when they fit; else the seq ranges alone, split over as many notifications as it takes (a
    batch can touch thousands of channels)."""
    events = list(stored)
    ranges: dict[str, list[int]] = {}
    for event in events:
        seen = ranges.get(event.channel)
        if seen is None:
            ranges[event.channel] = [event.seq, event.seq]
        else:
            seen[1] = event.seq
    try:
        whole = orjson.dumps({"n": node, "c": ranges, "e": [_event_row(event) for event in events]})
    except TypeError:  # data the JSON encoder refuses cannot travel inline: the listeners read it
        whole = b""
    if 0 < len(whole) <= MAX_PAYLOAD:
        return [whole.decode()]
    payloads: list[str] = []
    part: dict[str, list[int]] = {}
    size = 0
    for channel, span in ranges.items():
        entry = len(orjson.dumps({channel: span}))
        if part and size + entry > MAX_PAYLOAD - 64:
            payloads.append(orjson.dumps({"n": node, "c": part}).decode())
            part, size = {}, 0
        part[channel] = span
        size += entry
    if part:
        payloads.append(orjson.dumps({"n": node, "c": part}).decode())
    return payloads


def read_commit(payload: str) -> tuple[str, dict[str, tuple[int, int]], list[StoredEvent] | None]:
    """(node, {channel: (first, last)}, the events or None when they were left out)."""
    body = orjson.loads(payload)
    ranges = {channel: (int(span[0]), int(span[1])) for channel, span in body["c"].items()}
    rows = body.get("e")
    return body["n"], ranges, None if rows is None else [_event_from_row(row) for row in rows]


def relay_payload(node: str, channel: str, frame: dict[str, Any]) -> str | None:
    """A relayed frame's notification, or None when it is too large to send."""
    text = orjson.dumps({"n": node, "c": channel, "f": frame}, default=_bytes_out)
    return text.decode() if len(text) <= MAX_PAYLOAD else None


def read_relay(payload: str) -> tuple[str, str, dict[str, Any]]:
    body = orjson.loads(payload)
    return body["n"], body["c"], _bytes_in(body["f"])


def _event_row(event: StoredEvent) -> list[Any]:
    blob = base64.b64encode(event.blob).decode() if event.blob is not None else None
    return [
        event.channel,
        event.seq,
        event.type,
        event.data,
        blob,
        event.user_id,
        event.nickname,
        event.op_id,
        event.created_at.isoformat(),
    ]


def _event_from_row(row: list[Any]) -> StoredEvent:
    channel, seq, type_, data, blob, user_id, nickname, op_id, created_at = row
    return StoredEvent(
        channel,
        seq,
        type_,
        data,
        base64.b64decode(blob) if blob is not None else None,
        user_id,
        nickname,
        op_id,
        datetime.fromisoformat(created_at),
    )


def _bytes_out(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"{type(value).__name__} cannot be relayed")


def _bytes_in(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$b" in value:
            return base64.b64decode(value["$b"])
        return {key: _bytes_in(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_bytes_in(item) for item in value]
    return value
