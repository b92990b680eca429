"""The OpenAPI 3.1 description of the HTTP API, served at `GET /api/openapi.json`.

Written by hand: one module of paths per capability (`server`, `documents`, `history`, `moderation`,
`media`, `publish`) on the shared `schemas` and `builders`; this module assembles them and serves the result.
tests/ops/test_openapi.py keeps it true: every route of the app is in it, every path in it is routed
(or listed there as built elsewhere), and the history endpoints' answers validate against the schemas.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.http_auth import json_response
from app.openapi import documents, history, media, moderation, publish, server
from app.openapi.builders import json_answer
from app.openapi.schemas import SCHEMAS


def _merged(*modules: dict[str, Any]) -> dict[str, Any]:
    """The modules' paths; a path two modules describe (history's GET and publish's POST of
    /api/channels/{channel}/events) has the methods of both."""
    paths: dict[str, Any] = {}
    for module in modules:
        for path, item in module.items():
            paths[path] = {**paths.get(path, {}), **item}
    return paths


PATHS: dict[str, Any] = _merged(
    server.PATHS,
    documents.PATHS,
    history.PATHS,
    moderation.PATHS,
    media.PATHS,
    publish.PATHS,
    {
        "/api/openapi.json": {
            "get": {"summary": "this description", "responses": {"200": json_answer({"type": "object"})}},
        },
    },
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
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(spec())


def setup(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi_json)
