"""What was said, by whom, when: the operators' view of the log (docs/operators.md).

One code path answers `GET /api/channels/{channel}/events`, its exports and `collab history`:
`HistoryQuery.parse` turns the request's parameters (or the command line's) into a filter, `History`
reads pages or streams batches, and `history_frame` shapes each event as it went out on the socket
(`collab.realtime.protocol.event_frame`) plus its binary payload, base64-encoded, under `blob`.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from collab.errors import Forbidden, ProtocolError
from collab.events import StoredEvent, utcnow
from collab.naming import channel_kind, check_channel_name
from collab.realtime.protocol import event_frame, timestamp
from collab.store.history import ChannelStats, EventFilter, HistoryQueries
from collab.store.search.query import parse_text_query
from collab.store.sql import SqlEventStore
from collab.users import User
from collab.values import age_seconds, in_range, whole_number

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
EXPORT_BATCH = 1000
FORMATS = ("json", "jsonl", "csv")
# The CSV columns; the frame's other fields go, as one JSON object, into `extra`.
CSV_COLUMNS = ("seq", "ts", "channel", "type", "user_id", "nickname", "id", "content", "extra")
# A cell starting with one of these is a formula to a spreadsheet (`=HYPERLINK(…)`, `+1+1`, `@SUM(…)`):
# it gets a leading single quote, as OWASP's CSV-injection guidance says, and is otherwise kept.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# An age: ASCII digits and a unit (a bare number is no age here: `since=5` is not 5 seconds ago).
_DURATION = re.compile(r"[0-9]+[smhdw]")


# -- parsing -------------------------------------------------------------------------------------------


def parse_duration(text: str, *, key: str = "duration") -> timedelta:
    """`90s`, `15m`, `24h`, `90d`, `2w` (a bare number is seconds), at most a century
    (collab.values: ASCII digits only, and no age `datetime` cannot subtract)."""
    return timedelta(seconds=age_seconds(text, key))


def parse_time(text: str, *, key: str = "time", now: datetime | None = None) -> datetime:
    """ISO 8601 (`2026-11-28`, `2026-11-28T09:30:00Z`, with an offset; no zone means UTC), or a
    duration meaning that long ago (`15m`, `24h`, `7d`). `ProtocolError` names `key`."""
    raw = text.strip()
    if _DURATION.fullmatch(raw):
        return (now or utcnow()) - parse_duration(raw, key=key)
    try:
        moment = datetime.fromisoformat(raw)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset that moves year 1 out of range
        raise ProtocolError(f"'{key}' must be an ISO 8601 time (2026-11-28T09:30:00Z) or an age (24h)") from None


def _listed(values: Iterable[str]) -> tuple[str, ...]:
    """Repeated parameters and comma-separated lists alike: `type=a&type=b` or `type=a,b`."""
    return tuple(dict.fromkeys(item.strip() for value in values for item in value.split(",") if item.strip()))


# -- cursors --------------------------------------------------------------------------------------------


def _filter_key(where: EventFilter) -> list[Any]:
    """What a cursor remembers of its query, in a form that compares equal when the query does."""
    return [
        where.before,
        where.since.isoformat() if where.since else None,
        where.until.isoformat() if where.until else None,
        sorted(where.types),
        sorted(where.users),
        where.text,
    ]


def encode_cursor(channel: str, where: EventFilter, seq: int) -> str:
    """An opaque token: the channel, the query's filter and the last seq returned."""
    body = orjson.dumps({"v": 1, "c": channel, "s": seq, "a": where.after, "f": _filter_key(where)})
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


@dataclass(frozen=True)
class Cursor:
    channel: str
    seq: int
    after: int
    filter_key: list[Any]


def decode_cursor(text: str) -> Cursor:
    try:
        body = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if body.get("v") != 1:
            raise ValueError
        key = list(body["f"])
        if (
            len(key) != 6
            or not all(isinstance(key[i], list) and all(isinstance(v, str) for v in key[i]) for i in (3, 4))
            or not (key[5] is None or isinstance(key[5], str))
        ):
            raise ValueError
        if key[0] is not None:
            in_range(key[0], "cursor")  # seqs are what the databases' BIGINT holds
        _filter_from_key(0, key)  # every part must make a filter
        return Cursor(str(body["c"]), in_range(body["s"], "cursor"), in_range(body["a"], "cursor"), key)
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, orjson.JSONDecodeError, ProtocolError):
        raise ProtocolError("'cursor' is not a cursor this server gave out") from None


# -- the query ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryQuery:
    """One request for a channel's events: the filter, where the page starts (`position`: the last seq
    already seen through a cursor), the page size or export cap, and the output format."""

    channel: str
    where: EventFilter = field(default_factory=EventFilter)
    position: int = 0
    limit: int | None = DEFAULT_LIMIT
    format: str = "json"

    @classmethod
    def parse(cls, channel: str, params: Mapping[str, Sequence[str]], *, now: datetime | None = None) -> HistoryQuery:
        """From query parameters (each key with all its values). `ProtocolError` names the bad one.

        `cursor` continues the query it came from: the filter is in it, so a client may send the cursor
        alone or repeat its parameters with it (then they must be the same: otherwise a page of another
        query would silently follow)."""

        def one(key: str) -> str | None:
            values = params.get(key) or ()
            if len(values) > 1:
                raise ProtocolError(f"'{key}' is given more than once")
            return values[0] if values and values[0] != "" else None

        check_channel_name(channel)
        fmt = (one("format") or "json").lower()
        if fmt not in FORMATS:
            raise ProtocolError(f"'format' must be one of {', '.join(FORMATS)}")
        limit_text = one("limit")
        limit = whole_number(limit_text, "limit", minimum=1) if limit_text is not None else None
        if fmt == "json":
            limit = min(limit or DEFAULT_LIMIT, MAX_LIMIT)
        since, until = one("since"), one("until")
        after, before = one("after"), one("before")
        where = EventFilter(
            after=whole_number(after, "after") if after is not None else 0,
            before=whole_number(before, "before") if before is not None else None,
            since=parse_time(since, key="since", now=now) if since else None,
            until=parse_time(until, key="until", now=now) if until else None,
            types=_listed(params.get("type") or ()),
            users=_listed(params.get("user") or ()),
            text=_search_text(one("text")),
        )
        position = where.after
        cursor_text = one("cursor")
        if cursor_text is not None:
            cursor = decode_cursor(cursor_text)
            if cursor.channel != channel:
                raise ProtocolError("'cursor' belongs to another channel")
            if not _same_query(where, cursor, relative={k for k in ("since", "until") if _is_age(one(k))}):
                raise ProtocolError("'cursor' belongs to another query: repeat its parameters or send it alone")
            where = _filter_from_key(cursor.after, cursor.filter_key)
            position = cursor.seq
        return cls(channel, where, position, limit, fmt)


def _search_text(text: str | None) -> str | None:
    """`text` as given, once the search box's language accepts it (`ProtocolError` says what is wrong)."""
    if text is not None:
        parse_text_query(text)
    return text


def _is_age(text: str | None) -> bool:
    return text is not None and _DURATION.fullmatch(text.strip()) is not None


def _same_query(where: EventFilter, cursor: Cursor, *, relative: set[str]) -> bool:
    """Parameters sent beside a cursor agree with it, or are absent. An age (`since=24h`) moves with
    the clock, so it is not compared: the cursor keeps the time it resolved to at the first page."""
    given = _filter_key(where)
    for index, key in enumerate(("before", "since", "until", "types", "users", "text")):
        empty = given[index] in (None, [])
        if key in relative or empty:
            continue
        if given[index] != cursor.filter_key[index]:
            return False
    return where.after in (0, cursor.after)


def _filter_from_key(after: int, key: list[Any]) -> EventFilter:
    before, since, until, types, users, text = key
    return EventFilter(
        after=after,
        before=before,
        since=parse_time(since) if since else None,
        until=parse_time(until) if until else None,
        types=tuple(types),
        users=tuple(users),
        text=text,
    )


# -- shaping --------------------------------------------------------------------------------------------


def history_frame(event: StoredEvent) -> dict[str, Any]:
    """The event as it went out on the socket, plus its binary payload (CRDT updates) as standard
    base64 under `blob`; live clients of `/ws/doc` got those bytes as y-websocket frames instead."""
    frame = event_frame(event)
    if event.blob is not None:
        frame["blob"] = base64.b64encode(event.blob).decode()
    return frame


def jsonl_lines(events: Iterable[StoredEvent]) -> bytes:
    return b"".join(orjson.dumps(history_frame(event)) + b"\n" for event in events)


def csv_header() -> bytes:
    return _csv_rows([list(CSV_COLUMNS)])


def csv_lines(events: Iterable[StoredEvent]) -> bytes:
    rows = []
    for event in events:
        frame = history_frame(event)
        row = [frame.pop(column, None) for column in CSV_COLUMNS[:-1]]
        content = row[7]
        if content is not None and not isinstance(content, str):
            row[7] = orjson.dumps(content).decode()
        row.append(orjson.dumps(frame).decode() if frame else "")
        rows.append([csv_cell(value) for value in row])
    return _csv_rows(rows)


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


def channel_entry(stats: ChannelStats) -> dict[str, Any]:
    return {
        "name": stats.name,
        "kind": stats.kind,
        "private": stats.private,
        "head": stats.head,
        "first_seq": stats.first_seq,
        "events": stats.events,
        "members": stats.members,
        "created_at": timestamp(stats.created_at),
        "created_by": stats.created_by,
        "last_event_at": timestamp(stats.last_event_at) if stats.last_event_at else None,
    }


# -- reading --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    events: list[StoredEvent]
    next: str | None


def may_read(user: User, channel: str) -> bool:
    """Direct messages are readable by their two users and by admins only (the contract): an operator
    reads every other channel, private rooms included."""
    return channel_kind(channel) != "dm" or user.is_admin


class History:
    """Operators' reads on an open `SqlEventStore`; who may read what is `may_read`'s rule."""

    def __init__(self, store: SqlEventStore) -> None:
        self.store = store
        self.queries = HistoryQueries(store.engine)

    async def page(self, query: HistoryQuery) -> Page:
        """One page of at most `query.limit` events; `next` continues it, None at the end (no more
        matching events stored now: a later call with the same cursor finds what came since)."""
        limit = query.limit or DEFAULT_LIMIT
        found = await self.queries.page(query.channel, query.where, after=query.position, limit=limit + 1)
        if len(found) > limit:
            found = found[:limit]
            return Page(found, encode_cursor(query.channel, query.where, found[-1].seq))
        return Page(found, None)

    async def stream(self, query: HistoryQuery, *, batch: int = EXPORT_BATCH) -> AsyncIterator[list[StoredEvent]]:
        """Every matching event after the query's position (at most its limit), batch by batch."""
        async for events in self.queries.iterate(
            query.channel, query.where, after=query.position, limit=query.limit, batch=batch
        ):
            yield events

    def check_reader(self, user: User, channel: str) -> None:
        """`Forbidden` unless `user` may read `channel`."""
        if not may_read(user, channel):
            raise Forbidden("direct messages are readable by role 'admin' only")

    async def channels(self, kinds: tuple[str, ...] = (), *, reader: User | None = None) -> list[ChannelStats]:
        """Every channel (of `kinds`), or only those `reader` may read."""
        found = await self.queries.channels(kinds)
        return found if reader is None else [item for item in found if may_read(reader, item.name)]

    async def head(self, channel: str) -> int:
        return await self.store.head(channel)


__all__ = [
    "CSV_COLUMNS",
    "ChannelStats",
    "EventFilter",
    "History",
    "HistoryQuery",
    "Page",
    "channel_entry",
    "csv_cell",
    "csv_header",
    "csv_lines",
    "decode_cursor",
    "encode_cursor",
    "history_frame",
    "jsonl_lines",
    "may_read",
    "parse_duration",
    "parse_time",
]
