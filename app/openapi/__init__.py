"""The OpenAPI 3.1 description of the HTTP API, served at `GET /api/openapi.json`.

Written by hand: one module of paths per capability (`server`, `documents`, `history`, `moderation`,
`media`, `publish`) on the shared `schemas` and `builders`; this module assembles them and serves the result.
tests/ops/test_openapi.py keeps it true: every route of the app is in it, every path in it is routed
(or listed there as built elsewhere), and the history endpoints' answers validate against the schemas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from app.http_auth import json_response
from app.openapi import documents, history, media, moderation, publish, server
from app.openapi.builders import json_answer
from app.openapi.schemas import SCHEMAS


def _merged(*modules: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """The modules' paths, each operation tagged with its module's name (the docs page groups them so);
    a path two modules describe (history's GET and publish's POST of /api/channels/{channel}/events)
    has the methods of both."""
    paths: dict[str, Any] = {}
    for tag, module in modules:
        for path, item in module.items():
            tagged = {key: {"tags": [tag], **value} if key in _METHODS else value for key, value in item.items()}
            paths[path] = {**paths.get(path, {}), **tagged}
    return paths


_METHODS = frozenset({"get", "put", "post", "delete", "patch"})
TAGS = [
    {"name": "publish", "description": "backends store and deliver events (service token): docs/server-api.md"},
    {"name": "history", "description": "operators read the log: docs/operators.md"},
    {"name": "moderation", "description": "operators' kicks, revocations and private channels' members"},
    {"name": "documents", "description": "a document's text at a seq: docs/editor.md"},
    {"name": "media", "description": "the media library: docs/media.md"},
    {"name": "server", "description": "health, metrics, pages, sockets, this description"},
]
API_DOCS_PAGE = Path(__file__).resolve().parents[2] / "static" / "api-docs.html"

PATHS: dict[str, Any] = _merged(
    ("server", server.PATHS),
    ("documents", documents.PATHS),
    ("history", history.PATHS),
    ("moderation", moderation.PATHS),
    ("media", media.PATHS),
    ("publish", publish.PATHS),
    (
        "server",
        {
            "/api/openapi.json": {
                "get": {"summary": "this description", "responses": {"200": json_answer({"type": "object"})}},
            },
            "/api/docs": {
                "get": {
                    "summary": "this description as an interactive page (Swagger UI)",
                    "responses": {"200": {"description": "HTML"}},
                },
            },
            "/api/docs/": {
                "get": {"summary": "redirects to /api/docs", "responses": {"301": {"description": "to /api/docs"}}},
            },
        },
    ),
)


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "collab",
            "version": "1",
            "description": "The HTTP side of collab: operators' history and moderation, documents, media, "
            "the publish API for backends (service tokens: docs/server-api.md), health. "
            "The sockets' frames are described in docs/protocol.md and docs/editor.md; "
            "operators' guide: docs/operators.md.",
        },
        "tags": TAGS,
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(spec())


async def api_docs(request: web.Request) -> web.FileResponse:
    """The description as a page (Swagger UI: static/api-docs.html, static/js/api-docs.js)."""
    return web.FileResponse(API_DOCS_PAGE)


async def api_docs_slash(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/api/docs")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi_json)
    # `/api/docs/{name}` is a document's text (app/docs_http.py); its name is never empty, so these two
    # paths are free for the page.
    app.router.add_get("/api/docs", api_docs)
    app.router.add_get("/api/docs/", api_docs_slash)
