"""`GET /ws/doc/{name}`: a Yjs document over the y-websocket protocol (docs/editor.md).

Who may connect is decided as on `/ws`: a `token` query parameter (a JWT or a guest token), else a new
guest when guests are allowed. Refusals happen after the upgrade, as a close with a reason that a
browser can read: 1008 for a bad token or document name. A malformed binary frame closes with 1007, a
text frame with 1003; nothing of either reaches the document.
"""

from __future__ import annotations

import logging
import time

from aiohttp import WSMsgType, web

from app.auth import AuthError
from app.keys import DOC_BUDGETS, ENGINE, SETTINGS
from app.sockets import AiohttpTransport, authenticate, close_refused, open_socket
from collab.documents.inbound import DocInbox
from collab.documents.room import channel_of
from collab.documents.rooms import DocumentManager
from collab.errors import ProtocolError
from collab.realtime.connection import CloseCode
from collab.realtime.limits import TokenBucket
from collab.users import User

log = logging.getLogger("collab.docs")


async def document_socket(request: web.Request) -> web.StreamResponse:
    documents: DocumentManager = request.app[ENGINE].documents
    ws = await open_socket(request)
    name = request.match_info["name"]
    try:
        user, _ = authenticate(request)
        channel_of(name)
    except (AuthError, ProtocolError) as error:
        return await close_refused(request, ws, CloseCode.POLICY_VIOLATION, str(error))
    budgets = request.app[DOC_BUDGETS]
    user_bucket = budgets.open(user.id)
    if user_bucket is None:
        reason = f"this user has {budgets.max_connections} document connections open already"
        return await close_refused(request, ws, CloseCode.POLICY_VIOLATION, reason)
    try:
        return await _serve(request, ws, documents, name, user, user_bucket)
    finally:
        budgets.close(user.id)


async def _serve(
    request: web.Request,
    ws: web.WebSocketResponse,
    documents: DocumentManager,
    name: str,
    user: User,
    user_bucket: TokenBucket,
) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    peer = documents.new_peer(AiohttpTransport(request, ws), user)
    try:
        room = await documents.join(name, peer)
    except ProtocolError as error:
        return await close_refused(request, ws, CloseCode.POLICY_VIOLATION, str(error))
    except Exception as error:  # the store failed to load it: the client retries later
        log.error("doc %s: cannot open for %s: %r", name, user.id, error)
        return await close_refused(request, ws, CloseCode.TRY_AGAIN_LATER, "the document cannot be loaded now")
    log.debug("doc open client=%s user=%s doc=%s%s", peer.id, user.id, name, " read-only" if peer.read_only else "")
    started = time.monotonic()
    peer.expire_with_token(settings.jwt_leeway_seconds)
    bucket = TokenBucket(settings.rate_limit_per_second, settings.rate_burst)
    inbox = DocInbox(documents, room, peer, bucket, user_bucket=user_bucket)
    try:
        async for msg in ws:
            if msg.type is WSMsgType.BINARY:
                reading = await inbox.binary(msg.data)
            elif msg.type is WSMsgType.TEXT:
                reading = await inbox.text()
            else:
                reading = msg.type is not WSMsgType.ERROR
            if not reading:
                break
    finally:
        await documents.leave(room, peer)
        peer.ended()
        log.info(
            "doc close client=%s user=%s doc=%s code=%s frames_in=%d refused=%d seconds=%.1f",
            peer.id,
            user.id,
            name,
            ws.close_code,
            inbox.frames_in,
            peer.refused,
            time.monotonic() - started,
        )
    return ws


async def close_document_sockets(app: web.Application) -> None:
    """on_shutdown: close every document socket with 1001 (their appends are flushed by the store)."""
    if ENGINE in app:
        await app[ENGINE].documents.close_peers(CloseCode.GOING_AWAY, "server shutting down")


__all__ = ["close_document_sockets", "document_socket"]
