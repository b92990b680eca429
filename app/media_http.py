"""The media library over HTTP (docs/media.md); the logic is collab/operators/media.py.

    POST   /api/media              multipart upload (`file`, optional `title`, `description`, `tags`)
    GET    /api/media              the list, newest first (`limit`, `cursor`, `tag`, `uploader`, `type`)
    GET    /api/media/{id}         one item's metadata
    GET    /api/media/{id}/file    its bytes, with the type read from them and `nosniff`
    PUT    /api/media/{id}         change title, description, tags (PATCH does the same)
    DELETE /api/media/{id}         remove it

Writing needs `Authorization: Bearer <token>` (a JWT, or the guest token of a `welcome`); changing or
deleting an item needs its uploader or an operator. Reading needs nothing: `<img src>` sends no header.
Errors are JSON `{"error": code, "message": text}` like every HTTP error of this server.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError

from app.http_auth import json_error, json_response, request_user
from app.keys import ENGINE, SETTINGS
from collab.errors import CollabError, Conflict, Forbidden, NotFound, ProtocolError, StoreError
from collab.operators.media import (
    MediaItem,
    MediaLibrary,
    QuotaExceeded,
    Received,
    TooLarge,
    UnsupportedType,
    UploadRateLimited,
    check_changes,
    check_filename,
)
from collab.values import whole_number

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
MAX_FIELD_BYTES = 16 * 1024
# A multipart body is the file plus boundaries, part headers and the small text fields.
FORM_OVERHEAD_BYTES = 4 * MAX_FIELD_BYTES
# Served files run no script, load nothing and are not framed, even when opened on their own in a tab.
FILE_CSP = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
)
# Types served as a download rather than shown: Chromium's PDF viewer does not run in a sandboxed
# document, so shown inline a PDF would go without the sandbox, active content in this server's origin.
ATTACHMENT_TYPES = frozenset({"application/pdf"})
# What cannot go between the quotes of a header's file name (a quote becomes an apostrophe).
_UNSENDABLE = re.compile(r"[\x00-\x1f\x7f\\]")


class _ContentTooLarge(web.HTTPClientError):
    """413 (aiohttp's own HTTPRequestEntityTooLarge wants sizes we may not know yet)."""

    status_code = 413


_STATUS: list[tuple[type[CollabError], type[web.HTTPException]]] = [
    (TooLarge, _ContentTooLarge),
    (QuotaExceeded, _ContentTooLarge),
    (UploadRateLimited, web.HTTPTooManyRequests),
    (UnsupportedType, web.HTTPUnsupportedMediaType),
    (ProtocolError, web.HTTPBadRequest),
    (NotFound, web.HTTPNotFound),
    (Forbidden, web.HTTPForbidden),
    (Conflict, web.HTTPConflict),
    (StoreError, web.HTTPServiceUnavailable),
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json_errors(handler: Handler) -> Handler:
    """The engine's errors as JSON HTTP errors with their wire codes."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except CollabError as error:
            status = next((status for kind, status in _STATUS if isinstance(error, kind)), web.HTTPBadRequest)
            headers = {"Retry-After": str(error.retry_after)} if isinstance(error, UploadRateLimited) else {}
            raise json_error(status, error.code, str(error), **headers) from None

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


URL_PREFIX = "/api/media"


def media_links(media_id: str) -> dict[str, str]:
    """An item's URLs on this server: the engine adds them to every entry it shows (its events too).
    `url` is the file, what `<img src="${media.url}">` wants (`file_url` says the same, for the
    clients written before); `api_url` is the item's JSON resource."""
    file = f"{URL_PREFIX}/{media_id}/file"
    return {"url": file, "file_url": file, "api_url": f"{URL_PREFIX}/{media_id}"}


def _library(request: web.Request) -> MediaLibrary:
    return request.app[ENGINE].media


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK_BYTES):
        yield chunk


async def _next_part(reader: Any) -> Any:
    """The next part of the form; `ProtocolError` when its headers are malformed (a raw CR in a name)."""
    try:
        return await reader.next()
    except HttpProcessingError:
        raise ProtocolError("the multipart body is malformed (a part's headers could not be read)") from None


async def _field_text(part: BodyPartReader) -> str:
    data = b""
    while chunk := await part.read_chunk(CHUNK_BYTES):
        data += chunk
        if len(data) > MAX_FIELD_BYTES:
            raise ProtocolError(f"form field {part.name!r} is larger than {MAX_FIELD_BYTES} bytes")
    try:
        return data.decode(part.get_charset(default="utf-8"))
    except (UnicodeDecodeError, LookupError):
        raise ProtocolError(f"form field {part.name!r} is not UTF-8 text") from None


@_json_errors
async def upload(request: web.Request) -> web.Response:
    """Stream the `file` part to disk (never whole in memory), then record it: 201 with the item."""
    user = request_user(request)
    library = _library(request)
    # Before the file streams to disk: who may write, how often, and how much room the user has left.
    quota_left = await library.admit(user)
    limit = request.app[SETTINGS].media_max_bytes
    announced = request.content_length  # refused before a byte is read when it is too much already
    if announced is not None and announced > limit + FORM_OVERHEAD_BYTES:
        raise TooLarge(f"the file is larger than {limit} bytes")
    if announced is not None and quota_left is not None and announced > quota_left + FORM_OVERHEAD_BYTES:
        raise QuotaExceeded(
            f"the upload quota is per user: this body of {announced} bytes is larger than the "
            f"{quota_left} bytes left of it"
        )
    if request.content_type != "multipart/form-data":
        raise ProtocolError("send multipart/form-data with a 'file' field")
    try:
        reader = await request.multipart()
    except ValueError as error:  # no boundary, or one aiohttp refuses
        raise ProtocolError(f"a malformed multipart body: {error}") from None
    received: Received | None = None
    fields: dict[str, str] = {}
    filename: str | None = None
    try:
        while (part := await _next_part(reader)) is not None:
            if not isinstance(part, BodyPartReader):
                raise ProtocolError("nested multipart bodies are not accepted")
            if part.name == "file":
                if received is not None:
                    raise ProtocolError("one file per upload")
                filename = check_filename(part.filename)
                received = await library.receive(_chunks(part), max_bytes=limit, quota_left=quota_left)
            elif part.name in ("title", "description", "tags") and part.name not in fields:
                fields[part.name] = await _field_text(part)
            else:
                raise ProtocolError(f"unexpected form field {part.name!r} (file, title, description, tags)")
        if received is None:
            raise ProtocolError("the form has no 'file' field")
        checked = check_changes(fields)
        item = await library.add(user, received, filename=filename, **checked)
    except BaseException:
        if received is not None:
            received.discard()
        raise
    location = request.app.router["media_item"].url_for(id=item.id)
    response = json_response(library.entry(item), status=201)
    response.headers["Location"] = str(location)
    return response


async def _next_part(reader: MultipartReader) -> Any:
    """The next part of the form; a body that breaks the multipart format is the client's error (400)."""
    try:
        return await reader.next()
    except (ValueError, BadHttpMessage) as error:  # a missing or wrong boundary, a broken part header
        raise ProtocolError(f"a malformed multipart body: {error}") from None


def _int_query(request: web.Request, key: str, default: int) -> int:
    raw = request.query.get(key)
    if raw is None or raw == "":
        return default
    return whole_number(raw, key, minimum=1)


@_json_errors
async def list_media(request: web.Request) -> web.Response:
    query = request.query
    items, cursor = await _library(request).list(
        limit=_int_query(request, "limit", 50),
        cursor=query.get("cursor") or None,
        tag=query.get("tag") or None,
        uploader=query.get("uploader") or None,
        mime_prefix=query.get("type") or None,
    )
    library = _library(request)
    return json_response({"media": [library.entry(item) for item in items], "next": cursor})


@_json_errors
async def get_media(request: web.Request) -> web.Response:
    library = _library(request)
    item = await library.get(request.match_info["id"])
    return json_response(library.entry(item))


@_json_errors
async def media_file(request: web.Request) -> web.StreamResponse:
    library = _library(request)
    item = await library.get(request.match_info["id"])
    path = library.path_of(item)
    headers = {
        "Content-Type": item.mime,
        "X-Content-Type-Options": "nosniff",
        # Revalidated every time (cheaply: 304 on the ETag): a deleted item stops showing at once.
        "Cache-Control": "no-cache",
        "Content-Disposition": _disposition(item),
        # Every type, PDFs too (downloaded, but sandboxed should a browser show one anyway).
        "Content-Security-Policy": FILE_CSP,
    }
    if not path.is_file():
        log.warning("media %s: its file %s is missing", item.id, path)
        raise NotFound(f"the file of media {item.id!r} is missing")
    return web.FileResponse(path, headers=headers)


def _disposition(item: MediaItem) -> str:
    kind = "attachment" if item.mime in ATTACHMENT_TYPES else "inline"
    if not item.filename:
        return kind
    # Control characters are refused in new names (media_checks.check_filename); one stored before that
    # still must not break the header: the ASCII name gets "_" for them, the UTF-8 name is percent-encoded.
    ascii_name = _UNSENDABLE.sub("_", item.filename.encode("ascii", "replace").decode()).replace('"', "'")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(item.filename, safe='')}"


async def _json_body(request: web.Request) -> dict[str, object]:
    try:
        body = await request.json()
    except ValueError:
        raise ProtocolError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ProtocolError("the body must be a JSON object")
    return body


@_json_errors
async def update_media(request: web.Request) -> web.Response:
    user = request_user(request)
    changes = await _json_body(request)
    library = _library(request)
    item = await library.update(user, request.match_info["id"], changes)
    return json_response(library.entry(item))


@_json_errors
async def delete_media(request: web.Request) -> web.Response:
    user = request_user(request)
    await _library(request).delete(user, request.match_info["id"])
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/media", upload)
    app.router.add_get("/api/media", list_media)
    item = app.router.add_resource("/api/media/{id}", name="media_item")
    item.add_route("GET", get_media)
    item.add_route("PUT", update_media)
    item.add_route("PATCH", update_media)
    item.add_route("DELETE", delete_media)
    app.router.add_get("/api/media/{id}/file", media_file)
