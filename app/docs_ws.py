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

from app.auth import AuthError, origin_allowed
from app.keys import ENGINE, SETTINGS
from app.ws import authenticate
from collab.documents.rooms import DocumentManager, Peer, Room, channel_of
from collab.errors import ProtocolError
from collab.realtime.dispatch import TokenBucket
from collab.realtime.protocol import CloseCode

log = logging.getLogger("collab.docs")

INVALID_PAYLOAD = 1007
UNSUPPORTED_DATA = 1003
INTERNAL_ERROR = 1011
# Appends one connection may have waiting for their commit before its socket is read again.
MAX_INFLIGHT = 256


class AiohttpBinaryTransport:
    """`collab.documents.rooms.DocTransport` over aiohttp's WebSocketResponse."""

    __slots__ = ("ws",)

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def send_bytes(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=reason.encode()[:120])


async def _refuse(request: web.Request, ws: web.WebSocketResponse, code: int, reason: str) -> web.WebSocketResponse:
    await ws.close(code=code, message=reason.encode()[:120])
    log.info("doc socket refused %s: %s", request.remote, reason)
    return ws


async def document_socket(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    documents: DocumentManager = request.app[ENGINE].documents
    if not origin_allowed(request.headers.get("Origin"), request.host, request.scheme, settings.allowed_origins):
        raise web.HTTPForbidden(text="origin not allowed")
    ws = web.WebSocketResponse(
        heartbeat=settings.heartbeat_seconds, compress=False, max_msg_size=settings.max_message_bytes
    )
    await ws.prepare(request)
    name = request.match_info["name"]
    try:
        user, _ = authenticate(request)
        channel_of(name)
    except (AuthError, ProtocolError) as error:
        return await _refuse(request, ws, CloseCode.POLICY_VIOLATION, str(error))
    peer = documents.new_peer(AiohttpBinaryTransport(ws), user)
    try:
        room = await documents.join(name, peer)
    except ProtocolError as error:
        return await _refuse(request, ws, CloseCode.POLICY_VIOLATION, str(error))
    except Exception as error:  # the store failed to load it: the client retries later
        log.error("doc %s: cannot open for %s: %r", name, user.id, error)
        return await _refuse(request, ws, CloseCode.TRY_AGAIN_LATER, "the document cannot be loaded now")
    log.info("doc open client=%s user=%s doc=%s%s", peer.id, user.id, name, " read-only" if peer.read_only else "")
    started = time.monotonic()
    frames_in = 0
    expiry: asyncio.TimerHandle | None = None
    if user.expires_at is not None:
        expiry = asyncio.get_running_loop().call_later(
            max(0.0, user.expires_at - time.time()), peer.close_soon, CloseCode.POLICY_VIOLATION, "token expired"
        )
    try:
        frames_in = await _serve(
            ws, documents, room, peer, TokenBucket(settings.rate_limit_per_second, settings.rate_burst)
        )
    finally:
        if expiry is not None:
            expiry.cancel()
        await documents.leave(room, peer)
        if peer.state.value == "open":
            peer.connection_lost()
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
                await peer.close(INVALID_PAYLOAD, f"malformed frame: {error}")
                break
            if appending is not None:
                inflight.add(appending)
                appending.add_done_callback(inflight.discard)
                if len(inflight) >= MAX_INFLIGHT:
                    await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
        elif msg.type is WSMsgType.TEXT:
            await peer.close(UNSUPPORTED_DATA, "y-websocket frames are binary")
            break
        elif msg.type is WSMsgType.ERROR:
            break
    return frames_in


async def close_document_sockets(app: web.Application) -> None:
    """on_shutdown: close every document socket with 1001 (their appends are flushed by the store)."""
    if ENGINE in app:
        await app[ENGINE].documents.close_peers(CloseCode.GOING_AWAY, "server shutting down")


__all__ = ["close_document_sockets", "document_socket"]
