"""What both WebSocket endpoints share: the origin check, the upgrade, who is connecting, and how a
refusal is said. `/ws` (app/ws.py) and `/ws/doc/{name}` (app/docs_ws.py) differ only in what they carry."""

from __future__ import annotations

import logging

from aiohttp import web

from app.auth import host_allowed, origin_allowed
from app.keys import AUTH, SETTINGS
from collab.users import User

log = logging.getLogger("collab.ws")


class AiohttpTransport:
    """`collab.realtime.connection.Transport` over an upgraded aiohttp request.

    Frames arrive whole (collab.realtime.frames) and go straight to the request's transport, many in
    one write; back-pressure is the transport's own high-water mark, and waiting for it is aiohttp's
    `drain` (the one aiohttp's WebSocket writer uses). Control frames (ping, pong, close) stay aiohttp's:
    each write here is whole frames, so they never interleave inside one."""

    __slots__ = ("_high_water", "_request", "_transport", "ws")

    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        transport = request.transport  # None: the client left during the upgrade
        self.ws = ws
        self._request = request
        self._transport = transport
        self._high_water = transport.get_write_buffer_limits()[1] if transport is not None else 0

    def write(self, data: bytes) -> bool:
        transport = self._transport
        if transport is None or self.ws.closed or transport.is_closing():
            raise ConnectionResetError("the socket is closing")
        transport.write(data)
        return transport.get_write_buffer_size() <= self._high_water

    async def drained(self) -> None:
        await self._request.writer.drain()

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=reason.encode()[:120])


async def open_socket(request: web.Request) -> web.WebSocketResponse:
    """Check the Host and the Origin (403 before the upgrade), then upgrade with the settings both sockets
    share."""
    settings = request.app[SETTINGS]
    if not host_allowed(request.host, settings.public_origins):
        log.info("ws refused %s: host %s is not a public origin of this server", request.remote, request.host)
        raise web.HTTPForbidden(text="host not allowed (COLLAB_PUBLIC_ORIGIN)")
    origins = settings.allowed_origins + settings.public_origins
    if not origin_allowed(request.headers.get("Origin"), request.host, request.scheme, origins):
        log.info("ws refused %s: origin %s not allowed", request.remote, request.headers.get("Origin"))
        raise web.HTTPForbidden(text="origin not allowed")
    ws = web.WebSocketResponse(
        heartbeat=settings.heartbeat_seconds,
        # No permessage-deflate: frames are small, and uncompressed sends complete without suspending,
        # which lets a broadcast write to each socket without a task switch (collab.realtime.connection).
        compress=False,
        # The contract closes frames of max_message_bytes *or more*, and so does aiohttp: its reader
        # refuses a payload of max_msg_size bytes or more (tests/app/test_limits.py pins the boundary).
        max_msg_size=settings.max_message_bytes,
        # The token may come as a subprotocol (see `bearer_token`); the answer names the marker only.
        protocols=(AUTH_PROTOCOL,),
    )
    await ws.prepare(request)
    return ws


AUTH_PROTOCOL = "collab.auth"
"""The subprotocol a client offers with `collab.token.<token>`; the server's answer names only this one."""
TOKEN_PROTOCOL_PREFIX = "collab.token."


def protocol_token(request: web.Request) -> str | None:
    """The token offered as the subprotocol `collab.token.<token>` (docs/protocol.md, "Connecting"):
    unlike `?token=`, a header stays out of proxies' request lines and the browser's console."""
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    for entry in offered.split(","):
        entry = entry.strip()
        if entry.startswith(TOKEN_PROTOCOL_PREFIX):
            return entry[len(TOKEN_PROTOCOL_PREFIX) :] or None
    return None


def bearer_token(request: web.Request) -> str | None:
    """The subprotocol's token, else `?token=` (Base's clients), else an `Authorization: Bearer` header."""
    token = protocol_token(request) or request.query.get("token")
    if token:
        return token
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def authenticate(request: web.Request) -> tuple[User, str | None]:
    """The user of a request and, for a new guest, the token that brings them back (`AuthError`)."""
    auth = request.app[AUTH]
    token = bearer_token(request)
    if token:
        return auth.verify(token), None
    return auth.guest(request.query.get("nickname"))


async def close_refused(
    request: web.Request, ws: web.WebSocketResponse, code: int, reason: str
) -> web.WebSocketResponse:
    """Close with a reason a browser can read (it cannot read an HTTP error on a WebSocket)."""
    await ws.close(code=code, message=reason.encode()[:120])
    log.info("ws refused %s: %s", request.remote, reason)
    return ws
