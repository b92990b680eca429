"""The editor's own reads of a document's history, for any user who may open the document
(docs/editor.md, "Version history"), and the guest token a page without a token starts with.

- `GET /api/docs/{name}/versions?limit=N`: the last N stored updates (who, when), oldest first.
- `GET /api/docs/{name}/versions/{seq}`: the document's text and title after that seq.
- `POST /api/guests`: a new guest and its token, for pages whose socket cannot hand one out
  (`/ws/doc` speaks only the binary y-websocket protocol).

Who may read: a bearer token the server accepts (a JWT of any role, `readonly` included, or a guest
token) — exactly who may connect to `/ws/doc/{name}`, which opens every document to such a token; reading
a document's past shows nothing its live socket would not. 401 otherwise.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from app.auth import AuthError
from app.http_auth import json_error, json_response, request_user
from app.keys import AUTH, ENGINE
from collab.documents.history import texts_at, versions
from collab.documents.wire import TEXT_ROOT
from collab.errors import ProtocolError
from collab.values import whole_number

TITLE_ROOT = "title"
DEFAULT_VERSIONS = 1000
MAX_VERSIONS = 5000


def _number(raw: str, key: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    try:
        if maximum is None:
            return whole_number(raw, key, minimum=minimum)
        return whole_number(raw, key, minimum=minimum, maximum=maximum)
    except ProtocolError as error:
        raise json_error(web.HTTPBadRequest, "bad_request", str(error)) from None


def _not_a_name() -> web.HTTPException:
    return json_error(web.HTTPBadRequest, "bad_request", "not a document name")


def _no_document() -> web.HTTPException:
    return json_error(web.HTTPNotFound, "not_found", "no such document")


async def document_versions(request: web.Request) -> web.Response:
    request_user(request)
    name = request.match_info["name"]
    raw = request.query.get("limit", "")
    limit = _number(raw, "limit", minimum=1, maximum=MAX_VERSIONS) if raw else DEFAULT_VERSIONS
    try:
        found = await versions(request.app[ENGINE].store, name, limit)
    except ProtocolError:
        raise _not_a_name() from None
    if found is None:
        raise _no_document()
    head, listed = found
    return json_response({"name": name, "head": head, "versions": [version.as_json() for version in listed]})


async def document_version(request: web.Request) -> web.Response:
    request_user(request)
    name = request.match_info["name"]
    at = _number(request.match_info["seq"], "seq")
    try:
        found = await texts_at(request.app[ENGINE].store, name, at, (TEXT_ROOT, TITLE_ROOT))
    except ProtocolError:
        raise _not_a_name() from None
    if found is None:
        raise _no_document()
    seq, texts = found
    return json_response({"name": name, "seq": seq, "text": texts[TEXT_ROOT], "title": texts[TITLE_ROOT]})


async def new_guest(request: web.Request) -> web.Response:
    """201 with `{token, user}`; the body `{"nickname": "…"}` is optional (a made-up name without it)."""
    nickname = None
    if request.can_read_body:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            raise json_error(web.HTTPBadRequest, "bad_request", "the body is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("nickname", ""), str):
            raise json_error(web.HTTPBadRequest, "bad_request", 'the body is {"nickname": string}')
        nickname = body.get("nickname")
    try:
        user, token = request.app[AUTH].guest(nickname)
    except AuthError as error:
        raise json_error(web.HTTPForbidden, "forbidden", str(error)) from None
    return json_response({"token": token, "user": {"id": user.id, "name": user.name, "guest": True}}, status=201)


def setup_document_versions(app: web.Application) -> None:
    app.router.add_get("/api/docs/{name}/versions", document_versions)
    app.router.add_get("/api/docs/{name}/versions/{seq}", document_version)
    app.router.add_post("/api/guests", new_guest)


__all__ = ["setup_document_versions"]
