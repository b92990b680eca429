"""`GET /api/catalog`: the boards and documents a user may open, most recently changed first
(docs/client.md, "Finding boards and documents"), for the index page's lists.

Unlike `GET /api/channels` (operators only, every channel with its figures), this is for everyone the
sockets admit: any accepted token, a guest's included, or no token at all while guests are allowed. A
private channel is listed to its members and admins only, exactly who may join it
(collab.realtime.hub.require_member); direct messages and chat rooms are not listed here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from app.http_auth import bearer, json_error, json_response, request_user
from app.keys import ENGINE, SETTINGS
from collab.engine import Engine
from collab.timetext import wire_timestamp
from collab.users import User

# The kinds the API names (docs/client.md) and the channel kinds they are: a drawing board's channel is
# `draw:<board>` (collab.boards.drawing).
CHANNEL_KINDS = {"kanban": "kanban", "drawing": "draw", "doc": "doc"}
KINDS = tuple(CHANNEL_KINDS)
API_KINDS = {channel_kind: kind for kind, channel_kind in CHANNEL_KINDS.items()}
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
PARAMETERS = frozenset({"kind", "limit"})


def _reader(request: web.Request) -> User | None:
    """The token's user; None for nobody in particular, allowed while guests are (401 otherwise)."""
    if bearer(request) is None and request.app[SETTINGS].allow_guests:
        return None
    return request_user(request)


def _kinds(request: web.Request) -> tuple[str, ...]:
    given = [k.strip() for value in request.query.getall("kind", []) for k in value.split(",") if k.strip()]
    unknown = sorted(set(given) - set(KINDS))
    if unknown:
        raise json_error(web.HTTPBadRequest, "bad_request", f"unknown kind {unknown[0]!r} (known: {', '.join(KINDS)})")
    return tuple(dict.fromkeys(given)) or KINDS


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise json_error(web.HTTPBadRequest, "bad_request", f"limit is a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


async def _may_open(engine: Engine, reader: User | None, channel: str) -> bool:
    """A private channel: its members and admins (nobody in particular is neither)."""
    if reader is None:
        return False
    if reader.is_admin:
        return True
    info = await engine.store.get_channel(channel)
    return info is not None and reader.id in info.members


async def catalog(request: web.Request) -> web.Response:
    unknown = sorted(set(request.query) - PARAMETERS)
    if unknown:
        raise json_error(web.HTTPBadRequest, "bad_request", f"unknown parameter {unknown[0]!r} (known: kind, limit)")
    reader = _reader(request)
    kinds, limit = _kinds(request), _limit(request)
    engine = request.app[ENGINE]
    found = await engine.history.channels(tuple(CHANNEL_KINDS[kind] for kind in kinds))
    listed: list[tuple[datetime, dict[str, Any]]] = []
    for stats in found:
        if stats.private and not await _may_open(engine, reader, stats.name):
            continue
        changed = stats.last_event_at or stats.created_at
        item = {
            "kind": API_KINDS[stats.kind],
            "name": stats.name.partition(":")[2],
            "channel": stats.name,
            "private": stats.private,
            "changed_at": wire_timestamp(changed),
        }
        listed.append((changed, item))
    listed.sort(key=lambda pair: pair[0], reverse=True)
    items = [item for _, item in listed[:limit]]
    return json_response({"items": items})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/catalog", catalog)
