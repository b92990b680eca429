"""The operators' read of a document's text at a seq."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import BEARER, OPERATOR_ERRORS, body, error, json_answer, operator, path, query, ref
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
    "/api/docs/{name}/versions": {
        "get": {
            "summary": "the document's last stored updates (who, when), oldest first; any accepted token",
            "security": BEARER,
            "responses": {
                "200": json_answer(ref("DocumentVersions")),
                "400": error("bad name or `limit`"),
                "401": OPERATOR_ERRORS["401"],
                "404": error("no such document"),
            },
            "parameters": [
                path("name", "the document"),
                query("limit", "how many updates (default 1000)", {"type": "integer", "minimum": 1, "maximum": 5000}),
            ],
        }
    },
    "/api/docs/{name}/versions/{seq}": {
        "get": {
            "summary": "the document's text and title after a seq; any accepted token",
            "security": BEARER,
            "responses": {
                "200": json_answer(ref("DocumentVersion")),
                "400": error("bad name or seq"),
                "401": OPERATOR_ERRORS["401"],
                "404": error("no such document"),
            },
            "parameters": [path("name", "the document"), path("seq", "the seq")],
        }
    },
    "/api/catalog": {
        "get": {
            "summary": "the boards and documents the caller may open, most recently changed first (any accepted "
            "token, or none while guests are allowed; private ones to their members and admins)",
            "security": [*BEARER, {}],
            "responses": {
                "200": json_answer(ref("Catalog")),
                "400": error("an unknown parameter or kind, or a bad `limit`"),
                "401": OPERATOR_ERRORS["401"],
            },
            "parameters": [
                query("kind", "kanban, drawing, doc (comma-separated; default all three)"),
                query("limit", "how many (default 100)", {"type": "integer", "minimum": 1, "maximum": 1000}),
            ],
        }
    },
    "/api/guests": {
        "post": {
            "summary": "a new guest and the token that brings them back (when guests are allowed)",
            "requestBody": {
                **body({"type": "object", "properties": {"nickname": {"type": "string"}}}),
                "required": False,
            },
            "responses": {
                "201": json_answer(ref("Guest"), "Created"),
                "400": error('a body that is not {"nickname": string}'),
                "403": error("guests are not allowed"),
            },
        }
    },
}
