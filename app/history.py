"""Operators' reads of the log over HTTP (docs/operators.md):

- `GET /api/channels` — every channel with its head, kept events, members and connections here;
- `GET /api/channels/{channel}/events` — stored events by filter, a page at a time (`next` cursor), or
  the whole selection streamed as JSON lines or CSV (`format=jsonl|csv`).

Both need a bearer token with role `operator` or `admin`; direct-message channels are listed and read
by `admin` only, as on the socket. The queries are collab.operators.history's, shared with `collab history`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from app.http_auth import http_error, json_error, json_response, require_operator
from app.keys import ENGINE
from collab.errors import CollabError, ProtocolError
from collab.naming import check_channel_name
from collab.operators.history import (
    History,
    HistoryQuery,
    channel_entry,
    csv_header,
    csv_lines,
    history_frame,
    jsonl_lines,
)

EVENT_PARAMETERS = frozenset({"after", "before", "since", "until", "type", "user", "text", "limit", "cursor", "format"})
CHANNEL_PARAMETERS = frozenset({"kind"})
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def query_params(request: web.Request, allowed: frozenset[str]) -> dict[str, list[str]]:
    """The request's query parameters, each with all its values; a 400 naming one it does not know."""
    unknown = sorted(set(request.query) - allowed)
    if unknown:
        raise json_error(
            web.HTTPBadRequest, "bad_request", f"unknown parameter {unknown[0]!r} (known: {', '.join(sorted(allowed))})"
        )
    return {key: request.query.getall(key) for key in request.query}


async def list_channels(request: web.Request) -> web.Response:
    user = require_operator(request)
    params = query_params(request, CHANNEL_PARAMETERS)
    kinds = tuple(k.strip() for value in params.get("kind", []) for k in value.split(",") if k.strip())
    try:
        stats = await request.app[ENGINE].history.channels(kinds, reader=user)
    except CollabError as error:
        raise http_error(error) from None
    live = request.app[ENGINE].manager.channels
    entries = []
    for item in stats:
        entry = channel_entry(item)
        channel = live.get(item.name)
        entry["connections"] = len(channel.clients) if channel is not None else 0
        entries.append(entry)
    return json_response({"channels": entries})


async def channel_events(request: web.Request) -> web.StreamResponse:
    user = require_operator(request)
    name = request.match_info["channel"]
    params = query_params(request, EVENT_PARAMETERS)
    try:
        check_channel_name(name)
        query = HistoryQuery.parse(name, params)
    except ProtocolError as error:
        raise http_error(error) from None
    history = request.app[ENGINE].history
    try:
        history.check_reader(user, name)
        info = await history.store.get_channel(name)
        if info is None:
            raise json_error(web.HTTPNotFound, "not_found", f"no channel {name!r}")
        if query.format != "json":
            return await _export(request, history, query)
        page = await history.page(query)
    except CollabError as error:
        raise http_error(error) from None
    body: dict[str, Any] = {
        "channel": name,
        "head": info.head,
        "events": [history_frame(event) for event in page.events],
        "next": page.next,
    }
    return json_response(body)


async def export(
    request: web.Request,
    name: str,
    fmt: str,
    batches: AsyncIterator[Any],
    encode: Callable[[Any], bytes],
    header: bytes = b"",
) -> web.StreamResponse:
    """Stream `batches` (each written by `encode`) as the attachment `name.fmt`: memory stays one batch,
    whatever the size of the log. A failure after the headers went out cuts the body short (the chunked
    response then lacks its end, which clients report)."""
    safe = re.sub(r"[^\w.-]", "_", name)
    response = web.StreamResponse(
        headers={
            "Content-Type": CONTENT_TYPES[fmt],
            "Content-Disposition": f'attachment; filename="{safe}.{fmt}"',
            "Cache-Control": "no-store",
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    if header:
        await response.write(header)
    async for batch in batches:
        await response.write(encode(batch))
    await response.write_eof()
    return response


def _export(request: web.Request, history: History, query: HistoryQuery) -> Awaitable[web.StreamResponse]:
    """Every matching event of the channel, as JSON lines or CSV."""
    csv = query.format == "csv"
    encode = csv_lines if csv else jsonl_lines
    return export(request, query.channel, query.format, history.stream(query), encode, csv_header() if csv else b"")


def setup(app: web.Application) -> None:
    """The routes; the engine (`app[ENGINE].history`) answers them."""
    app.router.add_get("/api/channels", list_channels)
    app.router.add_get("/api/channels/{channel}/events", channel_events)
