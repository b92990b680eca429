"""The media library: listing and reading need no token; changes are the uploader's or an operator's."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import _body, _error, _json, _path, _query, _ref, _user
from app.openapi.schemas import _NULLABLE_STRING


def _media_id() -> list[dict[str, Any]]:
    return [_path("id", "the media file's id")]


PATHS: dict[str, Any] = {
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
}
