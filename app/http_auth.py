"""Who is calling an HTTP endpoint: the bearer token of a request, checked by the app's `Authenticator`.

Every operator endpoint (history, moderation, media, monitor) starts with one line:

    user = require_operator(request)          # 401 / 403 as JSON, or the User

Errors are JSON, `{"error": code, "message": text}`, the same codes as the socket's `error` frames:
401 `unauthorized` when the token is missing, malformed, expired, badly signed or revoked (with
`WWW-Authenticate: Bearer`), 403 `forbidden` when it is valid but lacks the role. The token is read from
`Authorization: Bearer <jwt>` only: a token in a URL ends up in access logs and browser history.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from app.auth import AuthError
from app.keys import AUTH
from collab.errors import CollabError, Conflict, Forbidden, NotFound, ProtocolError, StoreError
from collab.users import User

OPERATOR_ROLES = ("operator", "admin")


def json_error(status: type[web.HTTPException], code: str, message: str, **headers: str) -> web.HTTPException:
    """An HTTP error with a JSON body `{"error": code, "message": message}`; raise it."""
    body = orjson.dumps({"error": code, "message": message}).decode()
    return status(text=body, content_type="application/json", headers=headers or None)


_STATUS: tuple[tuple[type[CollabError], type[web.HTTPException]], ...] = (
    (ProtocolError, web.HTTPBadRequest),
    (NotFound, web.HTTPNotFound),
    (Forbidden, web.HTTPForbidden),
    (Conflict, web.HTTPConflict),
    (AuthError, web.HTTPUnauthorized),
    (StoreError, web.HTTPServiceUnavailable),
)


def http_error(error: CollabError) -> web.HTTPException:
    """An engine error as the HTTP error to raise: `bad_request` 400, `not_found` 404, `forbidden` 403,
    `conflict` 409, `unauthorized` 401, `unavailable` / `store_error` 503 (the database is out of reach or
    refused; nothing changed)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return json_error(status, error.code, str(error))
    return json_error(web.HTTPInternalServerError, error.code, str(error))


def _unauthorized(message: str) -> web.HTTPException:
    return json_error(web.HTTPUnauthorized, "unauthorized", message, **{"WWW-Authenticate": 'Bearer realm="collab"'})


def bearer(request: web.Request) -> str | None:
    """The token of `Authorization: Bearer <token>`, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def request_user(request: web.Request) -> User:
    """The user of the request's bearer token (revocations included), or 401."""
    token = bearer(request)
    if token is None:
        raise _unauthorized("a bearer token is required (Authorization: Bearer <jwt>)")
    try:
        return request.app[AUTH].verify(token)
    except AuthError as error:
        raise _unauthorized(f"the token is not accepted: {error}") from None


def require_role(request: web.Request, *roles: str) -> User:
    """The request's user if it has one of `roles`; 401 without a valid token, 403 without the role."""
    user = request_user(request)
    if not user.has_role(*roles):
        wanted = " or ".join(repr(role) for role in roles)
        raise json_error(web.HTTPForbidden, "forbidden", f"the role {wanted} is required")
    return user


def require_operator(request: web.Request) -> User:
    """The request's user if an operator or admin; else 401 / 403 (module docstring)."""
    return require_role(request, *OPERATOR_ROLES)


def json_response(data: Any, *, status: int = 200) -> web.Response:
    """A JSON response encoded with orjson (datetimes as ISO 8601)."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


__all__ = [
    "OPERATOR_ROLES",
    "bearer",
    "http_error",
    "json_error",
    "json_response",
    "request_user",
    "require_operator",
    "require_role",
]
