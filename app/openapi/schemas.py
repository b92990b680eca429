"""The shared component schemas (`#/components/schemas/…`): tests/ops/test_openapi.py validates real
answers against them, so a field the handlers add or drop must change here too."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import ref

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}
TIME = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {
                "type": "string",
                "description": "bad_request, unauthorized, forbidden, not_found, conflict, too_large, rate_limited, "
                "unavailable, store_error",
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
            "user_id": NULLABLE_STRING,
            "nickname": NULLABLE_STRING,
            "id": {"type": "string", "description": "the client's id for the operation"},
            "ts": {**TIME, "description": "when it was stored, UTC, millisecond precision"},
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
            "events": {"type": "array", "items": ref("Event")},
            "next": {
                "type": ["string", "null"],
                "description": "opaque cursor of the next page (send it as `cursor`); null when no more "
                "matching events are stored",
            },
        },
    },
    "SearchPage": {
        "type": "object",
        "required": ["events", "next"],
        "properties": {
            "events": {"type": "array", "items": ref("SearchHit"), "description": "newest first"},
            "next": {
                "type": ["string", "null"],
                "description": "opaque cursor of the next page (send it as `cursor`); null when no more hits "
                "are stored",
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
            "first_seq": {**NULLABLE_INT, "description": "the lowest seq still kept (null: none kept)"},
            "events": {"type": "integer", "minimum": 0, "description": "events kept (head - first_seq + 1)"},
            "members": {"type": "integer", "minimum": 0},
            "connections": {"type": "integer", "minimum": 0, "description": "sockets in it on this server"},
            "created_at": TIME,
            "created_by": NULLABLE_STRING,
            "last_event_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "ChannelList": {
        "type": "object",
        "required": ["channels"],
        "properties": {"channels": {"type": "array", "items": ref("Channel")}},
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
            "jti": NULLABLE_STRING,
            "user_id": NULLABLE_STRING,
            "issued_before": {"type": ["string", "null"], "format": "date-time"},
            "created_at": TIME,
            "created_by": NULLABLE_STRING,
            "reason": NULLABLE_STRING,
        },
    },
    "RevocationList": {
        "type": "object",
        "required": ["revocations"],
        "properties": {"revocations": {"type": "array", "items": ref("Revocation")}},
    },
    "Outcome": {
        "type": "object",
        "description": "What a moderation action did; the other fields repeat the request's target.",
        "required": ["action", "closed", "revocations", "audit_seq"],
        "properties": {
            "action": {"type": "string", "enum": ["kick", "revoke", "member_removed", "member_added"]},
            "closed": {"type": "array", "items": {"type": "string"}, "description": "client ids closed with 1008"},
            "revocations": {"type": "array", "items": ref("Revocation")},
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
            "connected_at": TIME,
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
            "width": NULLABLE_INT,
            "height": NULLABLE_INT,
            "sha256": {"type": "string"},
            "filename": {"type": ["string", "null"]},
            "uploader": {"type": "object"},
            "created_at": TIME,
            "updated_at": TIME,
            "url": {"type": "string", "description": "the file's bytes (GET /api/media/{id}/file)"},
            "file_url": {"type": "string", "description": "the same as `url`, for earlier clients"},
            "api_url": {"type": "string", "description": "this item's JSON (GET /api/media/{id})"},
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
    "DocumentVersions": {
        "type": "object",
        "required": ["name", "head", "versions"],
        "properties": {
            "name": {"type": "string"},
            "head": {"type": "integer"},
            "versions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["seq", "user_id", "nickname", "at", "bytes"],
                    "properties": {
                        "seq": {"type": "integer"},
                        "user_id": {"type": ["string", "null"]},
                        "nickname": {"type": ["string", "null"]},
                        "at": {"type": "string", "format": "date-time"},
                        "bytes": {"type": "integer"},
                    },
                },
            },
        },
    },
    "DocumentVersion": {
        "type": "object",
        "required": ["name", "seq", "text", "title"],
        "properties": {
            "name": {"type": "string"},
            "seq": {"type": "integer"},
            "text": {"type": "string"},
            "title": {"type": "string"},
        },
    },
    "Guest": {
        "type": "object",
        "required": ["token", "user"],
        "properties": {
            "token": {"type": "string"},
            "user": {
                "type": "object",
                "required": ["id", "name", "guest"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "guest": {"type": "boolean"}},
            },
        },
    },
    "Catalog": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kind", "name", "channel", "private", "changed_at"],
                    "properties": {
                        "kind": {"enum": ["kanban", "drawing", "doc"]},
                        "name": {"type": "string"},
                        "channel": {"type": "string"},
                        "private": {"type": "boolean"},
                        "changed_at": {"type": "string", "format": "date-time"},
                    },
                },
            }
        },
    },
}

# A search hit: the event as the history shows it, with its snippet.
SCHEMAS["SearchHit"] = {
    **SCHEMAS["Event"],
    "description": "A stored event as the history shows it (`Event`), with `snippet`: a short piece of what "
    "the user typed around the first match, as strings plain and matched in turn (even indexes plain, odd "
    'ones matched: `["…the ", "invoice", " is late"]`).',
    "required": [*SCHEMAS["Event"]["required"], "snippet"],
    "properties": {**SCHEMAS["Event"]["properties"], "snippet": {"type": "array", "items": {"type": "string"}}},
}
