"""The OpenAPI 3.1 description of the HTTP API, served at `GET /api/openapi.json`.

Written here by hand, next to the handlers it describes; tests/ops/test_openapi.py keeps it true: every
route of the app is in it, every path in it is routed (or listed there as built elsewhere), and the
history endpoints' answers validate against these schemas.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.http_auth import json_response

JSON = "application/json"
BEARER = [{"bearer": []}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


OPERATOR_ERRORS = {
    "401": _error("no token, or a token that is malformed, expired, badly signed or revoked"),
    "403": _error("the token lacks role `operator` (or `admin`)"),
}


def _query(name: str, description: str, schema: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema or {"type": "string"}, **extra}


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": "string"}}


def _operator(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "security": BEARER, "responses": {**responses, **OPERATOR_ERRORS}, **extra}


def _user(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An endpoint for any user with a token (a guest's too), some of whose items are theirs alone."""
    errors = {"401": OPERATOR_ERRORS["401"], "403": _error("not the item's uploader, nor an operator")}
    return {"summary": summary, "security": BEARER, "responses": {**responses, **errors}, **extra}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}


_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"]}
_TIME = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {
                "type": "string",
                "description": "bad_request, unauthorized, forbidden, not_found, conflict, store_error",
            },
            "message": {"type": "string"},
        },
    },
    "Event": {
        "type": "object",
        "description": "A stored event with the fields it had on the socket: the envelope below beside its "
        "payload's own fields (`content` of a message, `event`/`data` of a publish, a board's fields, ...). "
        "A binary payload (a document's Yjs update) is in `blob`, standard base64.",
        "required": ["type", "channel", "seq", "user_id", "nickname", "ts"],
        "properties": {
            "type": {"type": "string"},
            "channel": {"type": "string"},
            "seq": {"type": "integer", "minimum": 1},
            "user_id": _NULLABLE_STRING,
            "nickname": _NULLABLE_STRING,
            "id": {"type": "string", "description": "the client's id for the operation"},
            "ts": {**_TIME, "description": "when it was stored, UTC, millisecond precision"},
            "content": {"description": "a message's text (any JSON for Base's frames)"},
            "blob": {"type": "string", "contentEncoding": "base64"},
        },
        "additionalProperties": True,
    },
    "EventPage": {
        "type": "object",
        "required": ["channel", "head", "events", "next"],
        "properties": {
            "channel": {"type": "string"},
            "head": {"type": "integer", "minimum": 0, "description": "the channel's last seq"},
            "events": {"type": "array", "items": _ref("Event")},
            "next": {
                "type": ["string", "null"],
                "description": "opaque cursor of the next page (send it as `cursor`); null when no more "
                "matching events are stored",
            },
        },
    },
    "Channel": {
        "type": "object",
        "required": ["name", "kind", "private", "head", "first_seq", "events", "members", "created_at"],
        "properties": {
            "name": {"type": "string"},
            "kind": {"type": "string", "description": "chat, dm, kanban, draw, doc, monitor, media, audit, ..."},
            "private": {"type": "boolean"},
            "head": {"type": "integer", "minimum": 0},
            "first_seq": {**_NULLABLE_INT, "description": "the lowest seq still kept (null: none kept)"},
            "events": {"type": "integer", "minimum": 0, "description": "events kept (head - first_seq + 1)"},
            "members": {"type": "integer", "minimum": 0},
            "connections": {"type": "integer", "minimum": 0, "description": "sockets in it on this server"},
            "created_at": _TIME,
            "created_by": _NULLABLE_STRING,
            "last_event_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "ChannelList": {
        "type": "object",
        "required": ["channels"],
        "properties": {"channels": {"type": "array", "items": _ref("Channel")}},
    },
    "Members": {
        "type": "object",
        "required": ["channel", "private", "members"],
        "properties": {
            "channel": {"type": "string"},
            "private": {"type": "boolean"},
            "members": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Revocation": {
        "type": "object",
        "required": ["id", "jti", "user_id", "issued_before", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "jti": _NULLABLE_STRING,
            "user_id": _NULLABLE_STRING,
            "issued_before": {"type": ["string", "null"], "format": "date-time"},
            "created_at": _TIME,
            "created_by": _NULLABLE_STRING,
            "reason": _NULLABLE_STRING,
        },
    },
    "RevocationList": {
        "type": "object",
        "required": ["revocations"],
        "properties": {"revocations": {"type": "array", "items": _ref("Revocation")}},
    },
    "Outcome": {
        "type": "object",
        "description": "What a moderation action did; the other fields repeat the request's target.",
        "required": ["action", "closed", "revocations", "audit_seq"],
        "properties": {
            "action": {"type": "string", "enum": ["kick", "revoke", "member_removed", "member_added"]},
            "closed": {"type": "array", "items": {"type": "string"}, "description": "client ids closed with 1008"},
            "revocations": {"type": "array", "items": _ref("Revocation")},
            "audit_seq": {"type": "integer", "description": "the seq of the action's event on channel `audit`"},
        },
        "additionalProperties": True,
    },
    "Connection": {
        "type": "object",
        "required": ["client_id", "endpoint", "user"],
        "properties": {
            "client_id": {"type": "string"},
            "endpoint": {"type": "string", "enum": ["/ws", "/ws/doc"]},
            "user": {"type": "object"},
            "channel": {"type": "string"},
            "channels": {"type": "array", "items": {"type": "string"}},
            "connected_at": _TIME,
        },
    },
    "Media": {
        "type": "object",
        "description": "A media item's metadata (its bytes are `GET /api/media/{id}/file`); docs/media.md.",
        "properties": {
            "id": {"type": "string"},
            "title": {"type": ["string", "null"]},
            "description": {"type": ["string", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "mime": {"type": "string"},
            "size": {"type": "integer"},
            "width": _NULLABLE_INT,
            "height": _NULLABLE_INT,
            "sha256": {"type": "string"},
            "filename": {"type": ["string", "null"]},
            "uploader": {"type": "object"},
            "created_at": _TIME,
            "updated_at": _TIME,
            "url": {"type": "string"},
            "file_url": {"type": "string"},
        },
        "additionalProperties": True,
    },
    "DocumentText": {
        "type": "object",
        "required": ["name", "seq", "head", "text", "root", "roots"],
        "properties": {
            "name": {"type": "string"},
            "seq": {"type": "integer"},
            "head": {"type": "integer"},
            "text": {"type": "string"},
            "root": {"type": "string"},
            "roots": {"type": "array", "items": {"type": "string"}},
        },
    },
}

_EVENT_FILTERS = [
    _query("after", "only events with a seq above this", {"type": "integer", "minimum": 0}),
    _query("before", "only events with a seq below this", {"type": "integer", "minimum": 0}),
    _query("since", "stored at or after: ISO 8601 (no zone: UTC) or an age such as `24h`, `7d`"),
    _query("until", "stored before: ISO 8601 or an age"),
    _query("type", "event types (repeat, or comma-separate)", explode=True),
    _query("user", "user ids (repeat, or comma-separate)", explode=True),
    _query("text", "a substring of the event's `content`, case-insensitive"),
]

_SOCKET_QUERY = [
    _query("channel", "the socket's own channel (default `general`)"),
    _query("token", "a JWT or a guest token"),
    _query("nickname", "a guest's display name"),
    _query("since", "the last seq the client has", {"type": "integer", "minimum": 0}),
    _query("room", "Base's clients: the channel, with Base's frames"),
]


def _socket(summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "description": "A WebSocket (HTTP upgrade); frames as in docs/protocol.md. "
        "Refusals come after the upgrade, as an `error` frame and a close with 1008.",
        "parameters": _SOCKET_QUERY,
        "responses": {"101": {"description": "switching protocols"}, "403": {"description": "foreign Origin"}},
    }


def _media_id() -> list[dict[str, Any]]:
    return [_path("id", "the media file's id")]


PATHS: dict[str, Any] = {
    "/healthz": {
        "get": {
            "summary": "liveness: the database answers",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"status": {"type": "string"}, "connections": {"type": "integer"}},
                        "additionalProperties": True,
                    }
                ),
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
    "/static/{path}": {
        "get": {
            "summary": "the browser pages' files",
            "parameters": [_path("path", "a file under static/")],
            "responses": {"200": {"description": "the file"}, "404": {"description": "no such file"}},
        }
    },
    "/ws": {"get": _socket("the JSON channel socket")},
    "/api/ws": {"get": _socket("the JSON channel socket (alias of /ws)")},
    "/ws/doc/{name}": {
        "get": {
            "summary": "a Yjs document over the y-websocket protocol (binary frames)",
            "parameters": [_path("name", "the document"), _query("token", "a JWT or a guest token")],
            "responses": {"101": {"description": "switching protocols"}, "403": {"description": "foreign Origin"}},
        }
    },
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
    "/api/channels": {
        "get": _operator(
            "every channel with its head seq and counts (direct messages: admins only)",
            {"200": _json(_ref("ChannelList"))},
            parameters=[_query("kind", "only these kinds (repeat, or comma-separate)", explode=True)],
        )
    },
    "/api/channels/{channel}/events": {
        "get": _operator(
            "stored events in seq order, by filter: a page, or everything streamed as JSON lines or CSV",
            {
                "200": {
                    "description": "a page (`format=json`), or the export (`jsonl`: one event per line; "
                    "`csv`: a header, then seq,ts,channel,type,user_id,nickname,id,content,extra)",
                    "content": {
                        JSON: {"schema": _ref("EventPage")},
                        "application/x-ndjson": {"schema": {"type": "string"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "400": _error("a bad parameter, or a cursor of another query"),
                "404": _error("no such channel"),
            },
            parameters=[
                _path("channel", "the channel's name"),
                *_EVENT_FILTERS,
                _query("limit", "page size (default 100, at most 1000); caps an export", {"type": "integer"}),
                _query("cursor", "`next` of the previous page"),
                _query("format", "json (a page), jsonl or csv (streamed)", {"enum": ["json", "jsonl", "csv"]}),
            ],
        )
    },
    "/api/channels/{channel}/members": {
        "get": _operator(
            "a channel's members",
            {"200": _json(_ref("Members")), "404": _error("no such channel")},
            parameters=[_path("channel", "the channel's name")],
        )
    },
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
    "/api/media": {
        "get": {
            "summary": "the media library, newest first (no token needed)",
            "parameters": [
                _query("limit", "page size", {"type": "integer", "minimum": 1}),
                _query("cursor", "`next` of the previous page"),
                _query("tag", "only items with this tag"),
                _query("uploader", "only items of this user id"),
                _query("type", "only items whose MIME type starts with this (`image/`)"),
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["media", "next"],
                        "properties": {
                            "media": {"type": "array", "items": _ref("Media")},
                            "next": _NULLABLE_STRING,
                        },
                    }
                ),
                "400": _error("a bad parameter"),
            },
        },
        "post": _user(
            "upload a file (multipart: `file`, optional `title`, `description`, `tags`); announced as "
            "`new_media` on channel `media`",
            {"201": _json(_ref("Media")), "400": _error("no file, a bad field"), "413": _error("too large")},
            requestBody={"required": True, "content": {"multipart/form-data": {"schema": {"type": "object"}}}},
        ),
    },
    "/api/media/{id}": {
        "parameters": _media_id(),
        "get": {
            "summary": "one item's metadata (no token needed)",
            "responses": {"200": _json(_ref("Media")), "404": _error("no such item")},
        },
        "put": _user(
            "change title, description, tags (the uploader or an operator); announced as `media_updated`",
            {"200": _json(_ref("Media")), "400": _error("a bad field"), "404": _error("no such item")},
            requestBody=_body({"type": "object"}),
        ),
        "patch": _user(
            "the same as PUT",
            {"200": _json(_ref("Media")), "400": _error("a bad field"), "404": _error("no such item")},
            requestBody=_body({"type": "object"}),
        ),
        "delete": _user(
            "remove an item (the uploader or an operator); announced as `media_deleted`",
            {"204": {"description": "deleted"}, "404": _error("no such item")},
        ),
    },
    "/api/media/{id}/file": {
        "parameters": _media_id(),
        "get": {
            "summary": "the item's bytes, with the type read from them (no token needed)",
            "responses": {"200": {"description": "the file"}, "404": _error("no such item")},
        },
    },
    "/api/openapi.json": {
        "get": {"summary": "this description", "responses": {"200": _json({"type": "object"})}},
    },
}


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "collab",
            "version": "1",
            "description": "The HTTP side of collab: operators' history and moderation, documents, media, "
            "health. The sockets' frames are described in docs/protocol.md and docs/editor.md; "
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
