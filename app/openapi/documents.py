"""The operators' read of a document's text at a seq."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import error, json_answer, operator, path, query, ref
from collab.values import INT64_MAX

PATHS: dict[str, Any] = {
    "/api/docs/{name}": {
        "get": operator(
            "a document's text as it was after a seq",
            {
                "200": json_answer(ref("DocumentText")),
                "400": error("bad name or `at`"),
                "404": error("no such document"),
            },
            parameters=[
                path("name", "the document"),
                query("at", "the seq (default: the head)", {"type": "integer", "minimum": 0, "maximum": INT64_MAX}),
                query("text", "the shared text's root name"),
            ],
        )
    },
}
