"""The media library: listing and reading need no token; changes are the uploader's or an operator's."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import body, error, json_answer, path, query, ref, user
from app.openapi.schemas import NULLABLE_STRING
from collab.values import INT64_MAX


def _media_id() -> list[dict[str, Any]]:
    return [path("id", "the media file's id")]


PATHS: dict[str, Any] = {
    "/api/media": {
        "get": {
            "summary": "the media library, newest first (no token needed)",
            "parameters": [
                query("limit", "page size", {"type": "integer", "minimum": 1, "maximum": INT64_MAX}),
                query("cursor", "`next` of the previous page"),
                query("tag", "only items with this tag"),
                query("uploader", "only items of this user id"),
                query("type", "only items whose MIME type starts with this (`image/`)"),
            ],
            "responses": {
                "200": json_answer(
                    {
                        "type": "object",
                        "required": ["media", "next"],
                        "properties": {
                            "media": {"type": "array", "items": ref("Media")},
                            "next": NULLABLE_STRING,
                        },
                    }
                ),
                "400": error("a bad parameter"),
            },
        },
        "post": user(
            "upload a file (multipart: `file`, optional `title`, `description`, `tags`); announced as "
            "`new_media` on channel `media`",
            {
                "201": json_answer(ref("Media")),
                "400": error("no file, a bad field, a file name with a path or a control character"),
                "413": error("too large (`too_large`), or over the user's quota (`quota_exceeded`)"),
                "415": error("not an accepted type"),
                "429": error("the user's uploads a minute (`rate_limited`; `Retry-After` says when)"),
            },
            requestBody={"required": True, "content": {"multipart/form-data": {"schema": {"type": "object"}}}},
        ),
    },
    "/api/media/{id}": {
        "parameters": _media_id(),
        "get": {
            "summary": "one item's metadata (no token needed)",
            "responses": {"200": json_answer(ref("Media")), "404": error("no such item")},
        },
        "put": user(
            "change title, description, tags (the uploader or an operator); announced as `media_updated`",
            {"200": json_answer(ref("Media")), "400": error("a bad field"), "404": error("no such item")},
            requestBody=body({"type": "object"}),
        ),
        "patch": user(
            "the same as PUT",
            {"200": json_answer(ref("Media")), "400": error("a bad field"), "404": error("no such item")},
            requestBody=body({"type": "object"}),
        ),
        "delete": user(
            "remove an item (the uploader or an operator); announced as `media_deleted`",
            {"204": {"description": "deleted"}, "404": error("no such item")},
        ),
    },
    "/api/media/{id}/file": {
        "parameters": _media_id(),
        "get": {
            "summary": "the item's bytes, with the type read from them (no token needed)",
            "responses": {"200": {"description": "the file"}, "404": error("no such item")},
        },
    },
}
