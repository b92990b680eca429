"""The server's own paths: liveness, metrics, the pages, and the sockets (their frames are in docs/)."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import json_answer, path, query
from collab.values import INT64_MAX

_SOCKET_QUERY = [
    query("channel", "the socket's own channel (default `general`)"),
    query("token", "a JWT or a guest token"),
    query("nickname", "a guest's display name"),
    query("since", "the last seq the client has", {"type": "integer", "minimum": 0, "maximum": INT64_MAX}),
    query("room", "Base's clients: the channel, with Base's frames"),
]


_SOCKET_ANSWERS = {
    "101": {"description": "switching protocols"},
    "400": {"description": "not a WebSocket upgrade request (plain text)"},
    "403": {"description": "foreign Origin"},
}


def _socket(summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "description": "A WebSocket (HTTP upgrade); frames as in docs/protocol.md. "
        "Refusals come after the upgrade, as an `error` frame and a close with 1008.",
        "parameters": _SOCKET_QUERY,
        "responses": _SOCKET_ANSWERS,
    }


HEALTH = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok", "catching up", "unavailable"]},
        "connections": {"type": "integer"},
        "node": {"type": "string"},
        "broker": {
            "type": "object",
            "properties": {"kind": {"type": "string"}, "state": {"type": "string"}},
            "required": ["kind", "state"],
        },
    },
    "required": ["status", "connections", "node", "broker"],
    "additionalProperties": True,
}

PATHS: dict[str, Any] = {
    "/healthz": {
        "get": {
            "summary": "readiness: the database answers (else 503, `unavailable`) and the broker is not catching up",
            "responses": {
                "200": json_answer(HEALTH),
                "503": json_answer(HEALTH),
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics (text exposition format; no token: keep it behind the proxy)",
            "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }
    },
    "/": {"get": {"summary": "the index page", "responses": {"200": {"description": "HTML"}}}},
    "/favicon.ico": {
        "get": {
            "summary": "the site's icon (the pages name /static/favicon.svg too)",
            "responses": {"200": {"description": "an ICO", "content": {"image/x-icon": {}}}},
        }
    },
    "/static/{path}": {
        "get": {
            "summary": "the browser pages' files",
            "parameters": [path("path", "a file under static/")],
            "responses": {"200": {"description": "the file"}, "404": {"description": "no such file"}},
        }
    },
    "/ws": {"get": _socket("the JSON channel socket")},
    "/api/ws": {"get": _socket("the JSON channel socket (alias of /ws)")},
    "/ws/doc/{name}": {
        "get": {
            "summary": "a Yjs document over the y-websocket protocol (binary frames)",
            "parameters": [path("name", "the document"), query("token", "a JWT or a guest token")],
            "responses": _SOCKET_ANSWERS,
        }
    },
}
