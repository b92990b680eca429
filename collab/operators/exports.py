"""How operators' reads shape events: each as it went out on the socket (`history_frame`:
`collab.realtime.protocol.event_frame` plus its binary payload, base64-encoded, under `blob`), written as
JSON lines or CSV. One shaping for a channel's history (collab.operators.history) and for a search across
channels (collab.operators.search), which adds columns of its own after these (`extra`)."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from collab.events import StoredEvent
from collab.realtime.protocol import event_frame

# The CSV columns; the frame's other fields go, as one JSON object, into `extra`.
CSV_COLUMNS = ("seq", "ts", "channel", "type", "user_id", "nickname", "id", "content", "extra")
# A cell starting with one of these is a formula to a spreadsheet (`=HYPERLINK(…)`, `+1+1`, `@SUM(…)`):
# it gets a leading single quote, as OWASP's CSV-injection guidance says, and is otherwise kept.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def history_frame(event: StoredEvent) -> dict[str, Any]:
    """The event as it went out on the socket, plus its binary payload (CRDT updates) as standard
    base64 under `blob`; live clients of `/ws/doc` got those bytes as y-websocket frames instead."""
    frame = event_frame(event)
    if event.blob is not None:
        frame["blob"] = base64.b64encode(event.blob).decode()
    return frame


def frames_jsonl(frames: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(frame) + b"\n" for frame in frames)


def jsonl_lines(events: Iterable[StoredEvent]) -> bytes:
    return frames_jsonl(history_frame(event) for event in events)


def csv_header(extra: Sequence[str] = ()) -> bytes:
    return _csv_rows([[*CSV_COLUMNS, *extra]])


def frames_csv(frames: Iterable[dict[str, Any]], extra: Sequence[str] = ()) -> bytes:
    """One row per frame: `CSV_COLUMNS`, then the frame's `extra` fields (taken out of `extra`'s JSON)."""
    rows = []
    for frame in frames:
        rest = dict(frame)
        tail = [rest.pop(column, None) for column in extra]
        row = [rest.pop(column, None) for column in CSV_COLUMNS[:-1]]
        content = row[7]
        if content is not None and not isinstance(content, str):
            row[7] = orjson.dumps(content).decode()
        row.append(orjson.dumps(rest).decode() if rest else "")
        rows.append([csv_cell(value) for value in (*row, *tail)])
    return _csv_rows(rows)


def csv_lines(events: Iterable[StoredEvent]) -> bytes:
    return frames_csv(history_frame(event) for event in events)


def csv_cell(value: Any) -> Any:
    """A cell as a spreadsheet will not run it: text that starts like a formula gets a leading `'`
    (numbers stay numbers, None is empty)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_rows(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()
