"""Operators' search across channels over HTTP (docs/operators.md, "Search"):

- `GET /api/events?text=&user=&channel=&type=&since=&until=` — hits newest first, a page at a time
  (`next` cursor), or every hit streamed as JSON lines or CSV (`format=jsonl|csv`); each hit is the event
  as the history shows it, with its channel, seq and `snippet`.

The history's rules: a bearer token with role `operator` or `admin`, direct messages for `admin` only
(left out of an operator's search; naming one is a 403), the same parameters' checks, cursors and exports
(app/history.py). The queries are collab.operators.search's, shared with `collab search`.
"""

from __future__ import annotations

from aiohttp import web

from app.history import export, query_params
from app.http_auth import http_error, json_response, require_operator
from app.keys import ENGINE
from collab.errors import CollabError
from collab.operators.exports import csv_header, frames_jsonl
from collab.operators.search import PARAMETERS, SNIPPET_COLUMN, SearchQuery, hits_csv


async def search_events(request: web.Request) -> web.StreamResponse:
    user = require_operator(request)
    search = request.app[ENGINE].search
    try:
        query = SearchQuery.parse(query_params(request, PARAMETERS))
        if query.format == "json":
            page = await search.page(query, user)
            return json_response({"events": page.hits, "next": page.next})
        search.check(query, user)  # a 403 before the export's headers go out
    except CollabError as error:
        raise http_error(error) from None
    csv = query.format == "csv"
    return await export(
        request,
        "search",
        query.format,
        search.stream(query, user),
        hits_csv if csv else frames_jsonl,
        csv_header(SNIPPET_COLUMN) if csv else b"",
    )


def setup(app: web.Application) -> None:
    """The route; the engine (`app[ENGINE].search`) answers it."""
    app.router.add_get("/api/events", search_events)
