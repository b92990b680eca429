"""What was said, by whom, when: the operators' view of the log (docs/operators.md).

One code path answers `GET /api/channels/{channel}/events`, its exports and `collab history`:
`HistoryQuery.parse` turns the request's parameters (or the command line's) into a filter, `History`
reads pages or streams batches, and `history_frame` (collab.operators.exports) shapes each event as it
went out on the socket.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from collab.errors import Forbidden, ProtocolError
from collab.events import StoredEvent, utcnow
from collab.naming import channel_kind, check_channel_name
from collab.operators.exports import CSV_COLUMNS, csv_cell, csv_header, csv_lines, history_frame, jsonl_lines
from collab.store.history import ChannelStats, EventFilter, HistoryQueries
from collab.store.search.query import parse_text_query
from collab.store.sql import SqlEventStore
from collab.timetext import wire_timestamp
from collab.users import User
from collab.values import age_seconds, check_text, in_range, whole_number

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
EXPORT_BATCH = 1000
FORMATS = ("json", "jsonl", "csv")
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


def single(params: Mapping[str, Sequence[str]], key: str) -> str | None:
    """A parameter given at most once (None: absent or empty); `ProtocolError` when repeated."""
    values = params.get(key) or ()
    if len(values) > 1:
        raise ProtocolError(f"'{key}' is given more than once")
    return values[0] if values and values[0] != "" else None


def listed(params: Mapping[str, Sequence[str]], key: str) -> tuple[str, ...]:
    """Repeated parameters and comma-separated lists alike: `type=a&type=b` or `type=a,b`. A value with
    U+0000 is a 400 (collab.values.check_text): PostgreSQL would refuse it, SQLite not."""
    values = params.get(key) or ()
    found = tuple(dict.fromkeys(item.strip() for value in values for item in value.split(",") if item.strip()))
    for item in found:
        check_text(item, key)
    return found


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


def pack_cursor(body: dict[str, Any]) -> str:
    """An opaque token holding `body` (what a page's query and position need to continue)."""
    return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


def unpack_cursor(text: str) -> Any:
    """What `pack_cursor` packed; a ValueError (binascii's, orjson's) for anything else."""
    return orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def encode_cursor(channel: str, where: EventFilter, seq: int) -> str:
    """An opaque token: the channel, the query's filter and the last seq returned."""
    return pack_cursor({"v": 1, "c": channel, "s": seq, "a": where.after, "f": _filter_key(where)})


@dataclass(frozen=True)
class Cursor:
    channel: str
    seq: int
    after: int
    filter_key: list[Any]


def decode_cursor(text: str) -> Cursor:
    try:
        body = unpack_cursor(text)
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
    except (ValueError, TypeError, KeyError, AttributeError, ProtocolError):
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
            return single(params, key)

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
            types=listed(params, "type"),
            users=listed(params, "user"),
            text=_search_text(one("text")),
        )
        position = where.after
        cursor_text = one("cursor")
        if cursor_text is not None:
            cursor = decode_cursor(cursor_text)
            if cursor.channel != channel:
                raise ProtocolError("'cursor' belongs to another channel")
            if not _same_query(where, cursor, relative={k for k in ("since", "until") if is_age(one(k))}):
                raise ProtocolError("'cursor' belongs to another query: repeat its parameters or send it alone")
            where = _filter_from_key(cursor.after, cursor.filter_key)
            position = cursor.seq
        return cls(channel, where, position, limit, fmt)


def _search_text(text: str | None) -> str | None:
    """`text` as given, once the search box's language accepts it (`ProtocolError` says what is wrong)."""
    if text is not None:
        parse_text_query(text)
    return text


def is_age(text: str | None) -> bool:
    """Whether a time parameter is an age (`24h`), which moves with the clock."""
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


def channel_entry(stats: ChannelStats) -> dict[str, Any]:
    return {
        "name": stats.name,
        "kind": stats.kind,
        "private": stats.private,
        "head": stats.head,
        "first_seq": stats.first_seq,
        "events": stats.events,
        "members": stats.members,
        "created_at": wire_timestamp(stats.created_at),
        "created_by": stats.created_by,
        "last_event_at": wire_timestamp(stats.last_event_at) if stats.last_event_at else None,
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
