"""The publish API: backends store and deliver events over HTTP (docs/server-api.md).

- `POST /api/channels/{channel}/events` — one event on one channel: `{"event", "data", "id"}`;
- `POST /api/events` — the same event on several channels: `{"channels": [...], "event", "data", "id"}`;
- `POST /api/broadcast` — an event every `/ws` socket gets, on every server process (`broadcast:all`,
  collab.realtime.broadcast says why it is a stored event).

Each needs a service token: a JWT this server verifies (the deployment's key, like a user's token) with
role `service`; its `sub` is the events' `user_id`. 201 with the stored event(s) when something was
stored, 200 with the same answer for a retry of the same op id (`id`). Errors are the operator API's
JSON errors; 413 over `COLLAB_PUBLISH_MAX_BYTES`, 429 over the service's rate (`Retry-After`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson
from aiohttp import web

from app.http_auth import http_error, json_error, json_response, require_role
from app.keys import ENGINE, SETTINGS
from collab.errors import CollabError
from collab.events import Appended
from collab.realtime.broadcast import BROADCAST_CHANNEL
from collab.realtime.protocol import event_frame
from collab.realtime.publishing import RateLimited

SERVICE_ROLE = "service"


class _TooLarge(web.HTTPClientError):
    """413 (aiohttp's own HTTPRequestEntityTooLarge wants the actual size, unknown while streaming)."""

    status_code = 413


async def _body(request: web.Request) -> Any:
    """The request's JSON body, refused (413) past `COLLAB_PUBLISH_MAX_BYTES` before it is all read."""
    limit = request.app[SETTINGS].publish_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise json_error(_TooLarge, "too_large", f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise json_error(_TooLarge, "too_large", f"the body is over {limit} bytes")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise json_error(web.HTTPBadRequest, "bad_request", "the body is not JSON") from None


async def _publish(request: web.Request, channels: Sequence[object] | None) -> list[Appended]:
    service = require_role(request, SERVICE_ROLE)
    body = await _body(request)
    if channels is None:  # POST /api/events: the body names them
        listed = body.get("channels") if isinstance(body, dict) else None
        if not isinstance(listed, list):
            raise json_error(web.HTTPBadRequest, "bad_request", "field 'channels' must be a list of channel names")
        channels = listed
    elif isinstance(body, dict) and "channels" in body:
        message = "the channel is the path's (several channels: POST /api/events)"
        raise json_error(web.HTTPBadRequest, "bad_request", message)
    publisher = request.app[ENGINE].publisher
    try:
        return await publisher.publish(service, publisher.parse(channels, body))
    except RateLimited as error:
        wait = str(max(1, math.ceil(error.retry_after)))
        raise json_error(web.HTTPTooManyRequests, error.code, str(error), **{"Retry-After": wait}) from None
    except CollabError as error:
        raise http_error(error) from None


def _status(appended: list[Appended]) -> int:
    return 201 if any(result.new for result in appended) else 200


async def publish_one(request: web.Request) -> web.Response:
    appended = await _publish(request, [request.match_info["channel"]])
    return json_response(event_frame(appended[0].event), status=_status(appended))


async def publish_many(request: web.Request) -> web.Response:
    appended = await _publish(request, None)
    return json_response({"events": [event_frame(result.event) for result in appended]}, status=_status(appended))


async def broadcast(request: web.Request) -> web.Response:
    appended = await _publish(request, [BROADCAST_CHANNEL])
    return json_response(event_frame(appended[0].event), status=_status(appended))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/channels/{channel}/events", publish_one)
    app.router.add_post("/api/events", publish_many)
    app.router.add_post("/api/broadcast", broadcast)
