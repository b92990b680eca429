"""The operators' history: the channels, their stored events (a page or an export), their members."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import JSON, error, json_answer, operator, path, query, ref
from collab.values import INT64_MAX

# A page's size, the cursor to the next, and the format: the same for a channel's history and a search.
_PAGING = [
    query(
        "limit",
        "page size (default 100, at most 1000); caps an export",
        {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
    ),
    query("cursor", "`next` of the previous page"),
    query("format", "json (a page), jsonl or csv (streamed)", {"enum": ["json", "jsonl", "csv"]}),
]
_EVENT_FILTERS = [
    query("after", "only events with a seq above this", {"type": "integer", "minimum": 0, "maximum": INT64_MAX}),
    query("before", "only events with a seq below this", {"type": "integer", "minimum": 0, "maximum": INT64_MAX}),
    query("since", "stored at or after: ISO 8601 (no zone: UTC) or an age such as `24h`, `7d`"),
    query("until", "stored before: ISO 8601 or an age"),
    query("type", "event types (repeat, or comma-separate)", explode=True),
    query("user", "user ids (repeat, or comma-separate)", explode=True),
    query(
        "text",
        'a search of what users typed (docs/operators.md, "Search"): words, "quoted phrases" and prefix* '
        "(at least 3 letters), all of them, case- and accent-insensitive, in a message's `content`, a card's "
        "or column's `title`, a card's `description` or `labels`, a media item's `title`, `description` or "
        "`tags`, a published event's text `data`; a query it cannot read is a 400 that says why",
    ),
]

PATHS: dict[str, Any] = {
    "/api/channels": {
        "get": operator(
            "every channel with its head seq and counts (direct messages: admins only)",
            {"200": json_answer(ref("ChannelList"))},
            parameters=[query("kind", "only these kinds (repeat, or comma-separate)", explode=True)],
        )
    },
    "/api/channels/{channel}/events": {
        "get": operator(
            "stored events in seq order, by filter: a page, or everything streamed as JSON lines or CSV",
            {
                "200": {
                    "description": "a page (`format=json`), or the export (`jsonl`: one event per line; "
                    "`csv`: a header, then seq,ts,channel,type,user_id,nickname,id,content,extra)",
                    "content": {
                        JSON: {"schema": ref("EventPage")},
                        "application/x-ndjson": {"schema": {"type": "string"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "400": error("a bad parameter, or a cursor of another query"),
                "404": error("no such channel"),
            },
            parameters=[
                path("channel", "the channel's name"),
                *_EVENT_FILTERS,
                *_PAGING,
            ],
        )
    },
    "/api/events": {
        "get": operator(
            "search what users typed across channels: hits newest first, a page, or everything streamed as "
            "JSON lines or CSV (direct messages: admins only)",
            {
                "200": {
                    "description": "a page (`format=json`), or the export (`jsonl`: one hit per line; `csv`: the "
                    "history's columns, then `snippet` with its matches in «guillemets»)",
                    "content": {
                        JSON: {"schema": ref("SearchPage")},
                        "application/x-ndjson": {"schema": {"type": "string"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "400": error("a bad parameter, a search the language refuses (says why), or a cursor of another query"),
                "403": error(
                    "the token lacks role `operator` (or `admin`), or `channel` names a direct message and not `admin`"
                ),
            },
            parameters=[
                _EVENT_FILTERS[-1],
                query("user", "user ids (repeat, or comma-separate)", explode=True),
                query(
                    "channel",
                    "channel names (repeat, or comma-separate); default: every channel you may read",
                    explode=True,
                ),
                query("type", "event types (repeat, or comma-separate)", explode=True),
                _EVENT_FILTERS[2],
                _EVENT_FILTERS[3],
                *_PAGING,
            ],
        )
    },
    "/api/channels/{channel}/members": {
        "get": operator(
            "a channel's members",
            {
                "200": json_answer(ref("Members")),
                "400": error("not a channel name"),
                "403": error(
                    "the token lacks role `operator` (or `admin`), or a direct-message channel and not `admin`"
                ),
                "404": error("no such channel"),
            },
            parameters=[path("channel", "the channel's name")],
        )
    },
}
