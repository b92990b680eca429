"""Operators' questions across channels (docs/operators.md, "Search"): what did this user write, anywhere,
last Tuesday? Where was this word used? One code path answers `GET /api/events`, its exports and
`collab search`, on the search index (collab/store/search/).

`SearchQuery.parse` reads the parameters (`text`, `user`, `channel`, `type`, `since`, `until`, `limit`,
`cursor`, `format`) with the history's rules (collab.operators.history); `Search` reads pages newest
first, or streams every hit, of the channels the reader may read (`may_read`: direct messages for admins
only); each hit is the event as the history shows it plus its `snippet` (collab.operators.snippets).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from collab.errors import Forbidden, ProtocolError
from collab.naming import check_channel_name
from collab.operators.exports import frames_csv, history_frame
from collab.operators.history import (
    DEFAULT_LIMIT,
    EXPORT_BATCH,
    FORMATS,
    MAX_LIMIT,
    is_age,
    listed,
    may_read,
    pack_cursor,
    parse_time,
    single,
    unpack_cursor,
)
from collab.operators.snippets import snippet, snippet_text
from collab.store.search.queries import Hit, SearchFilter, SearchQueries
from collab.store.search.query import parse_text_query
from collab.store.sql import SqlEventStore
from collab.users import User
from collab.values import in_range, whole_number

PARAMETERS = frozenset({"text", "user", "channel", "type", "since", "until", "limit", "cursor", "format"})
SNIPPET_COLUMN = ("snippet",)


@dataclass(frozen=True)
class SearchQuery:
    """One search: its `text` as typed (parsed into `where.text`), the filter, where a page starts (below
    the id `position`, from a cursor), the page size or export cap, and the output format."""

    where: SearchFilter
    text: str | None = None
    position: int | None = None
    limit: int | None = DEFAULT_LIMIT
    format: str = "json"

    @classmethod
    def parse(cls, params: Mapping[str, Sequence[str]], *, now: datetime | None = None) -> SearchQuery:
        """From query parameters (each key with all its values); `ProtocolError` names the bad one.
        A `cursor` carries its query: sent alone, or with the same parameters (others are a 400)."""
        fmt = (single(params, "format") or "json").lower()
        if fmt not in FORMATS:
            raise ProtocolError(f"'format' must be one of {', '.join(FORMATS)}")
        limit_text = single(params, "limit")
        limit = whole_number(limit_text, "limit", minimum=1) if limit_text is not None else None
        if fmt == "json":
            limit = min(limit or DEFAULT_LIMIT, MAX_LIMIT)
        text = single(params, "text")
        since, until = single(params, "since"), single(params, "until")
        channels = listed(params, "channel")
        for name in channels:
            check_channel_name(name)
        where = SearchFilter(
            text=parse_text_query(text) if text is not None else None,
            channels=channels,
            users=listed(params, "user"),
            types=listed(params, "type"),
            since=parse_time(since, key="since", now=now) if since else None,
            until=parse_time(until, key="until", now=now) if until else None,
        )
        query = cls(where, text, None, limit, fmt)
        cursor = single(params, "cursor")
        if cursor is None:
            return query
        position, key = _decode_cursor(cursor)
        # An age (`since=24h`) moves with the clock: the cursor keeps the time it meant on the first page.
        relative = {4 if name == "since" else 5 for name in ("since", "until") if is_age(single(params, name))}
        for index, value in enumerate(query.key()):
            if index not in relative and value not in (None, []) and value != key[index]:
                raise ProtocolError("'cursor' belongs to another query: repeat its parameters or send it alone")
        return replace(cls.from_key(key), position=position, limit=limit, format=fmt)

    def key(self) -> list[Any]:
        """What a cursor remembers of its query (compared equal when the query is the same)."""
        where = self.where
        return [
            self.text,
            sorted(where.channels),
            sorted(where.users),
            sorted(where.types),
            where.since.isoformat() if where.since else None,
            where.until.isoformat() if where.until else None,
        ]

    @classmethod
    def from_key(cls, key: list[Any]) -> SearchQuery:
        text, channels, users, types, since, until = key
        return cls(
            SearchFilter(
                text=parse_text_query(text) if text is not None else None,
                channels=tuple(channels),
                users=tuple(users),
                types=tuple(types),
                since=parse_time(since) if since else None,
                until=parse_time(until) if until else None,
            ),
            text,
        )

    def cursor(self, last_id: int) -> str:
        return pack_cursor({"v": 1, "k": "search", "i": last_id, "f": self.key()})


def _decode_cursor(text: str) -> tuple[int, list[Any]]:
    try:
        body = unpack_cursor(text)
        if body.get("v") != 1 or body.get("k") != "search":
            raise ValueError
        key = list(body["f"])
        if len(key) != 6 or not all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in key[1:4]):
            raise ValueError
        if not all(v is None or isinstance(v, str) for v in (key[0], key[4], key[5])):
            raise ValueError
        SearchQuery.from_key(key)  # every part must make a query
        return in_range(body["i"], "cursor"), key
    except (ValueError, TypeError, KeyError, AttributeError, ProtocolError):
        raise ProtocolError("'cursor' is not a cursor this server gave out") from None


@dataclass(frozen=True)
class SearchPage:
    hits: list[dict[str, Any]]
    next: str | None


class Search:
    """Searches on an open `SqlEventStore`, for a reader (None: the command line, which reads all)."""

    def __init__(self, store: SqlEventStore) -> None:
        self.queries = SearchQueries(store.engine)

    def check(self, query: SearchQuery, reader: User | None) -> None:
        """`Forbidden` if the query names a channel `reader` may not read."""
        self._for(query, reader)

    def _for(self, query: SearchQuery, reader: User | None) -> SearchFilter:
        """The query's filter as `reader` may ask it: `Forbidden` for a channel they may not read;
        direct messages left out unless they may read them."""
        if reader is None or reader.is_admin:
            return query.where
        for name in query.where.channels:
            if not may_read(reader, name):
                raise Forbidden("direct messages are readable by role 'admin' only")
        return replace(query.where, exclude_dms=True)

    async def page(self, query: SearchQuery, reader: User | None) -> SearchPage:
        """At most `query.limit` hits, newest first, below the cursor's position; `next` continues."""
        limit = query.limit or DEFAULT_LIMIT
        hits = await self.queries.page(self._for(query, reader), below=query.position, limit=limit + 1)
        following = None
        if len(hits) > limit:
            hits = hits[:limit]
            following = query.cursor(hits[-1].id)
        return SearchPage([hit_frame(hit, query) for hit in hits], following)

    async def stream(
        self, query: SearchQuery, reader: User | None, *, batch: int = EXPORT_BATCH
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every hit below the query's position (at most its limit), newest first, batch by batch: each
        a short query of its own."""
        where = self._for(query, reader)
        below, left = query.position, query.limit
        while left is None or left > 0:
            size = batch if left is None else min(batch, left)
            hits = await self.queries.page(where, below=below, limit=size)
            if hits:
                yield [hit_frame(hit, query) for hit in hits]
                below = hits[-1].id
                if left is not None:
                    left -= len(hits)
            if len(hits) < size:
                return


def hit_frame(hit: Hit, query: SearchQuery) -> dict[str, Any]:
    """The event as the history shows it, with its snippet."""
    frame = history_frame(hit.event)
    frame["snippet"] = snippet(hit.event.type, hit.event.data, query.where.text)
    return frame


def hits_csv(frames: list[dict[str, Any]]) -> bytes:
    """The history's CSV columns, then `snippet` (its matches in «guillemets»)."""
    return frames_csv(({**frame, "snippet": snippet_text(frame["snippet"])} for frame in frames), SNIPPET_COLUMN)


__all__ = ["PARAMETERS", "SNIPPET_COLUMN", "Search", "SearchPage", "SearchQuery", "hit_frame", "hits_csv"]
