"""`GET /api/docs/{name}?at=SEQ`: a document's text as it was after a seq, for operators (docs/editor.md).

`Authorization: Bearer <jwt>` with role `operator` or `admin`: 401 without a valid token, 403 without
the role. The document is rebuilt the way the server and `collab replay` rebuild it: the latest
snapshot at or below `at`, then the stored updates up to `at`.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from app.auth import AuthError
from app.keys import AUTH, ENGINE
from collab.documents.history import document_at
from collab.documents.wire import TEXT_ROOT
from collab.errors import ProtocolError
from collab.users import User
from collab.values import whole_number


def _error(status: type[web.HTTPException], code: str, message: str, **headers: str) -> web.HTTPException:
    body = orjson.dumps({"error": code, "message": message}).decode()
    return status(text=body, content_type="application/json", headers=headers)


def operator(request: web.Request) -> User:
    """The user of the request's bearer token, if an operator; else 401 or 403."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer " or not header[7:].strip():
        raise _error(
            web.HTTPUnauthorized, "unauthorized", "a bearer token is required", **{"WWW-Authenticate": "Bearer"}
        )
    try:
        user = request.app[AUTH].verify(header[7:].strip())
    except AuthError:
        raise _error(
            web.HTTPUnauthorized, "unauthorized", "the token is not valid", **{"WWW-Authenticate": "Bearer"}
        ) from None
    if not user.is_operator:
        raise _error(web.HTTPForbidden, "forbidden", "the operator or admin role is required")
    return user


def _whole_number(request: web.Request, key: str) -> int | None:
    raw = request.query.get(key)
    if raw is None or raw == "":
        return None
    try:
        return whole_number(raw, key)
    except ProtocolError as error:
        raise _error(web.HTTPBadRequest, "bad_request", str(error)) from None


async def document_text(request: web.Request) -> web.Response:
    operator(request)
    name = request.match_info["name"]
    at = _whole_number(request, "at")
    root = request.query.get("text") or TEXT_ROOT
    try:
        view = await document_at(request.app[ENGINE].store, name, at, root)
    except ProtocolError:
        raise _error(web.HTTPBadRequest, "bad_request", "not a document name") from None
    if view is None:
        raise _error(web.HTTPNotFound, "not_found", "no such document")
    return web.json_response(
        {"name": view.name, "seq": view.seq, "head": view.head, "text": view.text, "root": root, "roots": view.roots}
    )
