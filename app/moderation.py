"""Moderation over HTTP (docs/operators.md); every endpoint needs role `operator` or `admin`.

- `GET  /api/moderation/connections` — the open sockets of this server (`/ws` and `/ws/doc`): their
  client ids, users, channels;
- `POST /api/moderation/kick` — `{"client_id"}` or `{"user_id"}`, `"revoke"` (default true), `"reason"`;
- `POST /api/moderation/revoke` — `{"jti"}` or `{"user_id", "before"?}`, `"reason"`;
- `GET  /api/moderation/revocations` — the revocations in force;
- `GET/PUT/DELETE /api/channels/{channel}/members[/{user}]` — a private channel's members.

Each action closes the affected sockets with 1008 and is recorded on the `audit` channel
(collab.operators.moderation explains the order of the steps).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from app.http_auth import http_error, json_error, json_response, require_operator
from app.keys import ENGINE
from collab.errors import CollabError, NotFound, ProtocolError
from collab.naming import check_channel_name
from collab.operators.audit import Actor, revocation_entry
from collab.operators.history import parse_time
from collab.realtime.session import Session
from collab.timetext import wire_timestamp
from collab.values import check_text

MAX_REASON = 500


async def _body(request: web.Request, allowed: set[str]) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise json_error(web.HTTPBadRequest, "bad_request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise json_error(web.HTTPBadRequest, "bad_request", "the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise json_error(web.HTTPBadRequest, "bad_request", f"unknown field {unknown[0]!r}")
    return body


def _text(body: dict[str, Any], key: str, *, max_length: int = 200) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        message = f"field '{key}' must be a string of 1-{max_length} characters"
        raise json_error(web.HTTPBadRequest, "bad_request", message)
    return _no_nul(value, key)


def _no_nul(value: str, key: str) -> str:
    """What is stored (revocations, members, the audit channel's events) holds no U+0000 (collab.values)."""
    try:
        check_text(value, key)
    except ProtocolError as error:
        raise http_error(error) from None
    return value


async def _run(action: Any) -> web.Response:
    try:
        outcome = await action
    except CollabError as error:
        raise http_error(error) from None
    return json_response(outcome.public())


async def connections(request: web.Request) -> web.Response:
    require_operator(request)
    engine = request.app[ENGINE]
    found = []
    for connection in engine.moderation.connections():
        entry = {"client_id": connection.id, "user": connection.user.public()}
        if isinstance(connection, Session):
            entry |= {
                "endpoint": "/ws",
                "channels": sorted(connection.channels),
                "channel": connection.get_attr("home"),
                "connected_at": timestamp_of(connection.connected_at),
            }
        else:
            entry |= {"endpoint": "/ws/doc", "channels": []}
        found.append(entry)
    return json_response({"connections": found})


def timestamp_of(epoch: float) -> str:
    return wire_timestamp(datetime.fromtimestamp(epoch, UTC))


async def kick(request: web.Request) -> web.Response:
    actor = Actor.of(require_operator(request))
    body = await _body(request, {"client_id", "user_id", "revoke", "reason"})
    revoke = body.get("revoke", True)
    if not isinstance(revoke, bool):
        raise json_error(web.HTTPBadRequest, "bad_request", "field 'revoke' must be true or false")
    return await _run(
        request.app[ENGINE].moderation.kick(
            actor,
            client_id=_text(body, "client_id"),
            user_id=_text(body, "user_id"),
            revoke=revoke,
            reason=_text(body, "reason", max_length=MAX_REASON),
        )
    )


async def revoke(request: web.Request) -> web.Response:
    actor = Actor.of(require_operator(request))
    body = await _body(request, {"jti", "user_id", "before", "reason"})
    before_text = _text(body, "before", max_length=64)
    try:
        before = parse_time(before_text, key="before") if before_text else None
    except ProtocolError as error:
        raise http_error(error) from None
    return await _run(
        request.app[ENGINE].moderation.revoke(
            actor,
            token_id=_text(body, "jti"),
            user_id=_text(body, "user_id"),
            before=before,
            reason=_text(body, "reason", max_length=MAX_REASON),
        )
    )


async def revocations(request: web.Request) -> web.Response:
    require_operator(request)
    try:
        rows = await request.app[ENGINE].moderation.revocation_store.after(0)
    except CollabError as error:
        raise http_error(error) from None
    return json_response({"revocations": [revocation_entry(row) for row in rows]})


def _member_target(request: web.Request) -> tuple[str, str]:
    channel, user_id = request.match_info["channel"], request.match_info["user"]
    try:
        check_channel_name(channel)
    except ProtocolError as error:
        raise http_error(error) from None
    if not user_id or len(user_id) > 200:
        raise json_error(web.HTTPBadRequest, "bad_request", "a user id is 1-200 characters")
    return channel, _no_nul(user_id, "user")


def _reason(request: web.Request) -> str | None:
    reason = request.query.get("reason") or None
    if reason is not None and len(reason) > MAX_REASON:
        raise json_error(web.HTTPBadRequest, "bad_request", f"'reason' is longer than {MAX_REASON} characters")
    return reason if reason is None else _no_nul(reason, "reason")


async def members(request: web.Request) -> web.Response:
    user = require_operator(request)
    channel = request.match_info["channel"]
    try:
        check_channel_name(channel)
        request.app[ENGINE].history.check_reader(user, channel)  # a DM's members: admins only, as its events
        info = await request.app[ENGINE].store.get_channel(channel)
        if info is None:
            raise NotFound(f"no channel {channel!r}")
    except CollabError as error:
        raise http_error(error) from None
    return json_response({"channel": channel, "private": info.private, "members": sorted(info.members)})


async def remove_member(request: web.Request) -> web.Response:
    actor = Actor.of(require_operator(request))
    channel, user_id = _member_target(request)
    return await _run(request.app[ENGINE].moderation.remove_member(actor, channel, user_id, reason=_reason(request)))


async def add_member(request: web.Request) -> web.Response:
    actor = Actor.of(require_operator(request))
    channel, user_id = _member_target(request)
    return await _run(request.app[ENGINE].moderation.add_member(actor, channel, user_id, reason=_reason(request)))


def setup(app: web.Application) -> None:
    """The routes; the engine (`app[ENGINE].moderation`) answers them."""
    app.router.add_get("/api/moderation/connections", connections)
    app.router.add_post("/api/moderation/kick", kick)
    app.router.add_post("/api/moderation/revoke", revoke)
    app.router.add_get("/api/moderation/revocations", revocations)
    app.router.add_get("/api/channels/{channel}/members", members)
    app.router.add_put("/api/channels/{channel}/members/{user}", add_member)
    app.router.add_delete("/api/channels/{channel}/members/{user}", remove_member)
