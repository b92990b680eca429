"""The operators' read of a document's text at a seq."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import _error, _json, _operator, _path, _query, _ref

PATHS: dict[str, Any] = {
    "/api/docs/{name}": {
        "get": _operator(
            "a document's text as it was after a seq",
            {
                "200": _json(_ref("DocumentText")),
                "400": _error("bad name or `at`"),
                "404": _error("no such document"),
            },
            parameters=[
                _path("name", "the document"),
                _query("at", "the seq (default: the head)", {"type": "integer", "minimum": 0}),
                _query("text", "the shared text's root name"),
            ],
        )
    },
}
