"""Moderation: private channels' members, open sockets, kicks and token revocations."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import body, error, json_answer, operator, path, query, ref

DM_OR_ROLE = (
    "the token lacks role `operator` (or `admin`), or the channel is a direct-message channel: its members"
    " are its two users and cannot change"
)

PATHS: dict[str, Any] = {
    "/api/channels/{channel}/members/{user}": {
        "parameters": [
            path("channel", "a private channel"),
            path("user", "the user id"),
            query("reason", "recorded on the audit channel"),
        ],
        "put": operator(
            "add a user to a private channel",
            {
                "200": json_answer(ref("Outcome")),
                "400": error("not a channel name"),
                "403": error(DM_OR_ROLE),
                "404": error("no such channel"),
                "409": error("public channel, or a member already"),
            },
        ),
        "delete": operator(
            "remove a user from a private channel: their sockets on it close with 1008 (or leave it), and "
            "joining again is refused",
            {
                "200": json_answer(ref("Outcome")),
                "400": error("not a channel name"),
                "403": error(DM_OR_ROLE),
                "404": error("no such channel, or not a member"),
                "409": error("public channel"),
            },
        ),
    },
    "/api/moderation/connections": {
        "get": operator(
            "the open sockets of this server",
            {
                "200": json_answer(
                    {
                        "type": "object",
                        "required": ["connections"],
                        "properties": {"connections": {"type": "array", "items": ref("Connection")}},
                    }
                )
            },
        )
    },
    "/api/moderation/kick": {
        "post": operator(
            "close one connection or every connection of a user with 1008 (and revoke their tokens)",
            {"200": json_answer(ref("Outcome")), "400": error("bad body"), "404": error("no such connection")},
            requestBody=body(
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
        "post": operator(
            "revoke a token (jti) or every token of a user issued before a time; sockets using one close with 1008",
            {"200": json_answer(ref("Outcome")), "400": error("bad body")},
            requestBody=body(
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
        "get": operator("the revocations in force", {"200": json_answer(ref("RevocationList"))})
    },
}
