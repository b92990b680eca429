"""`GET /ws` (and `/api/ws`): the JSON channel socket (docs/protocol.md)."""

from __future__ import annotations

import logging
import time
from functools import partial

from aiohttp import WSMsgType, web

from app.auth import AuthError
from app.keys import ENGINE, SETTINGS, USER_BUDGETS
from app.sockets import AiohttpTransport, authenticate, close_refused, open_socket
from collab.errors import CollabError, LimitExceeded, ProtocolError, StoreUnavailable
from collab.naming import check_channel_name
from collab.realtime.connection import CloseCode
from collab.realtime.inbound import Inbox
from collab.realtime.limits import TokenBucket
from collab.realtime.protocol import error_frame
from collab.realtime.session import Session
from collab.values import whole_number

log = logging.getLogger("collab.ws")


async def _refuse(
    request: web.Request, ws: web.WebSocketResponse, code: int, error: CollabError
) -> web.WebSocketResponse:
    """Say why in an `error` frame, then close: browsers cannot read an HTTP error on a WebSocket."""
    await ws.send_json(error_frame(error.code, str(error)))
    return await close_refused(request, ws, code, str(error))


def _welcome(session: Session, channel: str, guest_token: str | None, head: int) -> None:
    frame = {"type": "welcome", "client_id": session.id, "user": session.user.public(), "channel": channel, "seq": head}
    if guest_token is not None:
        frame["token"] = guest_token
    session.send(frame)  # Base's clients get `room` on it too (collab.realtime.base_compat)


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    engine = request.app[ENGINE]
    ws = await open_socket(request)
    query = request.query
    legacy = "room" in query and "channel" not in query
    try:
        user, guest_token = authenticate(request)
    except AuthError as error:
        return await _refuse(request, ws, CloseCode.POLICY_VIOLATION, error)
    try:
        name = check_channel_name(query.get("channel") or query.get("room") or "general")
        since = whole_number(query["since"], "since") if query.get("since") not in (None, "") else None
    except ProtocolError as error:
        return await _refuse(request, ws, CloseCode.POLICY_VIOLATION, error)

    budgets = request.app[USER_BUDGETS]
    user_bucket = budgets.open(user.id)
    if user_bucket is None:
        limit = LimitExceeded(f"this user has {budgets.max_connections} connections open already")
        return await _refuse(request, ws, CloseCode.POLICY_VIOLATION, limit)

    session = Session(
        AiohttpTransport(request, ws),
        user,
        queue_limit=settings.send_queue_limit,
        queue_bytes=settings.send_queue_bytes,
        legacy_room=legacy,
    )
    session.set_attr("home", name)
    # A client that takes `room_added` instead of a whole `rooms` list when a room is created.
    session.set_attr("room_changes", query.get("room_changes") == "1")
    started = time.monotonic()
    inbox: Inbox | None = None
    # At debug: a line per connect was ~7 % of a connect's CPU (10,000 sockets reconnecting at once);
    # the close line says who, where and for how long.
    log.debug(
        "ws open client=%s user=%s channel=%s since=%s%s", session.id, user.id, name, since, " legacy" if legacy else ""
    )
    try:
        try:
            await engine.connect(
                session,
                name,
                since,
                announce=partial(_welcome, session, name, guest_token),
                new_user=guest_token is not None,
            )
        except CollabError as error:
            # Stop the session's writer without closing the socket: `_refuse` still has to send the error.
            session.connection_lost()
            # A database out of reach is no fault of the client's: it may come back later (1013).
            unavailable = isinstance(error, StoreUnavailable)
            await _refuse(request, ws, CloseCode.TRY_AGAIN_LATER if unavailable else CloseCode.POLICY_VIOLATION, error)
            return ws
        # Sent with the welcome: not kept in this frame for the socket's life (ten thousand idle sockets).
        del guest_token
        session.expire_with_token(settings.jwt_leeway_seconds)
        bucket = TokenBucket(settings.rate_limit_per_second, settings.rate_burst)
        inbox = Inbox(session, engine.dispatcher, bucket, user_bucket=user_bucket)
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await inbox.text(msg.data)
            elif msg.type is WSMsgType.BINARY:
                inbox.binary()
            elif msg.type is WSMsgType.ERROR:
                break
    finally:
        budgets.close(user.id)
        await engine.disconnect(session)
        log.info(
            "ws close client=%s user=%s channel=%s code=%s frames_in=%d seconds=%.1f",
            session.id,
            user.id,
            name,
            session.close_code or ws.close_code,
            inbox.frames_in if inbox is not None else 0,
            time.monotonic() - started,
        )
    return ws
