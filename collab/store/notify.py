"""What a commit tells the other server processes, through PostgreSQL's NOTIFY.

The group-commit writer sends one notification per batch, inside the batch's transaction: PostgreSQL
delivers it only if the transaction commits, and delivers the notifications of committed transactions
in commit order. So no process hears of an event that is not stored, and a channel's notifications
arrive in seq order. A notification is a hint, never the truth: it names, per channel, the seqs the
batch stored, and carries the events themselves only when they fit in PostgreSQL's payload limit
(8000 bytes); a listener reads anything else from the log by seq (collab.store.pg_broker).

Payload (JSON): `{"n": node, "c": {channel: [first, last], …}, "e": [event, …]}` with each event as
`[channel, seq, type, data, blob (base64) or null, user_id, nickname, op_id, created_at (ISO 8601)]`.
A batch's events are packed into as many notifications as it takes, each naming in `"c"` exactly the
seqs it carries; an event too large for a notification of its own travels without `"e"` (its seq alone).

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
# `[first,last],` with two seqs of up to 19 digits each.
RANGE_BYTES = 42


def commit_payloads(node: str, stored: Iterable[StoredEvent]) -> list[str]:
    """The notifications of one committed batch, in commit order: the events inline, as many to a
    notification as fit; an event that does not fit alone (or that JSON cannot carry) travels by its
    seq only, and the listeners read it from the log. Each notification names in `"c"` exactly the
    seqs it covers, so a batch of thousands of events over thousands of channels is split, never cut."""
    envelope = len(orjson.dumps({"n": node, "c": {}, "e": []}))
    payloads: list[str] = []
    ranges: dict[str, list[int]] = {}
    rows: list[bytes] = []
    inline = True  # whether the part being filled carries its events
    size = envelope

    def flush() -> None:
        nonlocal ranges, rows, size
        if ranges:
            body = b'{"n":%s,"c":%s' % (orjson.dumps(node), orjson.dumps(ranges))
            body += b',"e":[%s]}' % b",".join(rows) if inline else b"}"
            payloads.append(body.decode())
        ranges, rows, size = {}, [], envelope

    for event in stored:
        row = _row_bytes(event)
        named = len(orjson.dumps(event.channel)) + 1 + RANGE_BYTES  # its entry in "c"
        carried = row is not None and envelope + named + len(row) + 1 <= MAX_PAYLOAD
        if carried != inline:
            flush()
            inline = carried
        added = len(row) + 1 if carried and row is not None else 0
        cost = added + (0 if event.channel in ranges else named)
        if size + cost > MAX_PAYLOAD:
            flush()
            cost = added + named
        span = ranges.get(event.channel)
        if span is None:
            ranges[event.channel] = [event.seq, event.seq]
        else:
            span[1] = event.seq
        if carried and row is not None:
            rows.append(row)
        size += cost
    flush()
    return payloads


def _row_bytes(event: StoredEvent) -> bytes | None:
    """The event's row as JSON, or None when its data is something JSON cannot carry."""
    try:
        return orjson.dumps(_event_row(event))
    except TypeError:
        return None


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
