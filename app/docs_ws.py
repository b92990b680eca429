"""`GET /ws/doc/{name}`: a Yjs document over the y-websocket protocol (docs/editor.md).

Who may connect is decided as on `/ws`: a `token` query parameter (a JWT or a guest token), else a new
guest when guests are allowed. Refusals happen after the upgrade, as a close with a reason that a
browser can read: 1008 for a bad token or document name. A malformed binary frame closes with 1007, a
text frame with 1003; nothing of either reaches the document.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import WSMsgType, web

from app.auth import AuthError
from app.keys import ENGINE, SETTINGS
from app.sockets import AiohttpTransport, authenticate, close_refused, open_socket
from collab.documents.peer import Peer
from collab.documents.rooms import DocumentManager, Room, channel_of
from collab.errors import ProtocolError
from collab.realtime.connection import CloseCode
from collab.realtime.limits import TokenBucket

log = logging.getLogger("collab.docs")

# Appends one connection may have waiting for their commit before its socket is read again.
MAX_INFLIGHT = 256


async def document_socket(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    documents: DocumentManager = request.app[ENGINE].documents
    ws = await open_socket(request)
    name = request.match_info["name"]
    try:
        user, _ = authenticate(request)
        channel_of(name)
    except (AuthError, ProtocolError) as error:
        return await close_refused(request, ws, CloseCode.POLICY_VIOLATION, str(error))
    peer = documents.new_peer(AiohttpTransport(ws), user)
    try:
        room = await documents.join(name, peer)
    except ProtocolError as error:
        return await close_refused(request, ws, CloseCode.POLICY_VIOLATION, str(error))
    except Exception as error:  # the store failed to load it: the client retries later
        log.error("doc %s: cannot open for %s: %r", name, user.id, error)
        return await close_refused(request, ws, CloseCode.TRY_AGAIN_LATER, "the document cannot be loaded now")
    log.info("doc open client=%s user=%s doc=%s%s", peer.id, user.id, name, " read-only" if peer.read_only else "")
    started = time.monotonic()
    frames_in = 0
    peer.expire_with_token(settings.jwt_leeway_seconds)
    try:
        frames_in = await _serve(
            ws, documents, room, peer, TokenBucket(settings.rate_limit_per_second, settings.rate_burst)
        )
    finally:
        await documents.leave(room, peer)
        peer.ended()
        log.info(
            "doc close client=%s user=%s doc=%s code=%s frames_in=%d refused=%d seconds=%.1f",
            peer.id,
            user.id,
            name,
            ws.close_code,
            frames_in,
            peer.refused,
            time.monotonic() - started,
        )
    return ws


async def _serve(
    ws: web.WebSocketResponse, documents: DocumentManager, room: Room, peer: Peer, bucket: TokenBucket
) -> int:
    """Read frames until the socket closes; the number read."""
    frames_in = 0
    inflight: set[asyncio.Future[None]] = set()
    async for msg in ws:
        if msg.type is WSMsgType.BINARY:
            frames_in += 1
            if not bucket.take():
                # Over the rate limit: stop reading (TCP pushes back on the client) rather than drop an
                # update, which a Yjs client would never send again.
                await asyncio.sleep((1 - bucket.tokens) / bucket.rate)
                bucket.take()
            try:
                appending = documents.receive(room, peer, msg.data)
            except ProtocolError as error:
                log.info("doc client %s (%s) sent a malformed frame: %s", peer.id, peer.user.id, error)
                await peer.close(CloseCode.INVALID_PAYLOAD, f"malformed frame: {error}")
                break
            if appending is not None:
                inflight.add(appending)
                appending.add_done_callback(inflight.discard)
                if len(inflight) >= MAX_INFLIGHT:
                    await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
        elif msg.type is WSMsgType.TEXT:
            await peer.close(CloseCode.UNSUPPORTED_DATA, "y-websocket frames are binary")
            break
        elif msg.type is WSMsgType.ERROR:
            break
    return frames_in


async def close_document_sockets(app: web.Application) -> None:
    """on_shutdown: close every document socket with 1001 (their appends are flushed by the store)."""
    if ENGINE in app:
        await app[ENGINE].documents.close_peers(CloseCode.GOING_AWAY, "server shutting down")


__all__ = ["close_document_sockets", "document_socket"]
