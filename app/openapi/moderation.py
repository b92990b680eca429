"""Moderation: private channels' members, open sockets, kicks and token revocations."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import _body, _error, _json, _operator, _path, _query, _ref

PATHS: dict[str, Any] = {
    "/api/channels/{channel}/members/{user}": {
        "parameters": [
            _path("channel", "a private channel"),
            _path("user", "the user id"),
            _query("reason", "recorded on the audit channel"),
        ],
        "put": _operator(
            "add a user to a private channel",
            {
                "200": _json(_ref("Outcome")),
                "404": _error("no such channel"),
                "409": _error("public channel, or a member already"),
            },
        ),
        "delete": _operator(
            "remove a user from a private channel: their sockets on it close with 1008 (or leave it), and "
            "joining again is refused",
            {
                "200": _json(_ref("Outcome")),
                "404": _error("no such channel, or not a member"),
                "409": _error("public channel"),
            },
        ),
    },
    "/api/moderation/connections": {
        "get": _operator(
            "the open sockets of this server",
            {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["connections"],
                        "properties": {"connections": {"type": "array", "items": _ref("Connection")}},
                    }
                )
            },
        )
    },
    "/api/moderation/kick": {
        "post": _operator(
            "close one connection or every connection of a user with 1008 (and revoke their tokens)",
            {"200": _json(_ref("Outcome")), "400": _error("bad body"), "404": _error("no such connection")},
            requestBody=_body(
                {
                    "type": "object",
                    "properties": {
                        "client_id": {"type": "string"},
                        "user_id": {"type": "string"},
                        "revoke": {"type": "boolean", "default": True},
                        "reason": {"type": "string"},
                    },
                    "description": "exactly one of client_id and user_id",
                }
            ),
        )
    },
    "/api/moderation/revoke": {
        "post": _operator(
            "revoke a token (jti) or every token of a user issued before a time; sockets using one close with 1008",
            {"200": _json(_ref("Outcome")), "400": _error("bad body")},
            requestBody=_body(
                {
                    "type": "object",
                    "properties": {
                        "jti": {"type": "string"},
                        "user_id": {"type": "string"},
                        "before": {"type": "string", "description": "ISO 8601 or an age; default now"},
                        "reason": {"type": "string"},
                    },
                    "description": "exactly one of jti and user_id",
                }
            ),
        )
    },
    "/api/moderation/revocations": {
        "get": _operator("the revocations in force", {"200": _json(_ref("RevocationList"))})
    },
}
