"""A small client for the JSON channel socket in tests: read frames with a deadline, wait for a frame
that matches, read until the socket closes. No sleeps: every wait has a condition and a deadline."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

import jwt
import orjson
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient

# Generous: a busy 2-core machine running two databases; a healthy run waits milliseconds.
DEADLINE = 10.0
SECRET = "tests-app-hs256-secret-of-at-least-32-bytes"


def token(
    sub: str, *, name: str | None = None, roles: list[str] | None = None, ttl: float = 3600, **claims: Any
) -> str:
    """An HS256 token signed with `SECRET` (the secret the tests configure)."""
    body: dict[str, Any] = {"sub": sub, "exp": int(time.time() + ttl), "iat": int(time.time())}
    if name is not None:
        body["name"] = name
    if roles is not None:
        body["roles"] = roles
    body.update(claims)
    return jwt.encode(body, SECRET, algorithm="HS256")


def _short(frames: list[dict[str, Any]], limit: int = 600) -> str:
    text = repr(frames)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


class Closed(AssertionError):
    """The socket closed while a frame was expected."""

    def __init__(self, code: int | None, frames: list[dict[str, Any]]) -> None:
        super().__init__(f"socket closed with {code}; frames before: {_short(frames)}")
        self.code = code
        self.frames = frames


class Peer:
    """One test client on `/ws`: `frames` is everything it has read, in order."""

    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.welcome: dict[str, Any] = {}

    @property
    def client_id(self) -> str:
        return self.welcome["client_id"]

    async def send(self, **frame: Any) -> None:
        await self.ws.send_str(orjson.dumps(frame).decode())

    async def send_raw(self, text: str) -> None:
        await self.ws.send_str(text)

    async def recv(self, within: float = DEADLINE) -> dict[str, Any]:
        """The next frame; `Closed` if the socket closes first, `TimeoutError` after the deadline."""
        msg = await self.ws.receive(timeout=within)
        if msg.type is WSMsgType.TEXT:
            frame = orjson.loads(msg.data)
            self.frames.append(frame)
            return frame
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            raise Closed(self.ws.close_code, self.frames[-5:])
        raise AssertionError(f"unexpected {msg.type} message: {msg.data!r}")

    async def until(
        self, kind: str | Callable[[dict[str, Any]], bool], within: float = DEADLINE, **fields: Any
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Read until a frame of type `kind` (or for which `kind(frame)` holds) with `fields`; returns
        it and the frames skipped on the way."""
        skipped: list[dict[str, Any]] = []
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind} {fields} within {within}s; skipped {_short(skipped[-10:])}")
            frame = await self.recv(left)
            matches = kind(frame) if callable(kind) else frame.get("type") == kind
            if matches and all(frame.get(k) == v for k, v in fields.items()):
                return frame, skipped
            skipped.append(frame)

    async def expect(self, kind: str | Callable[[dict[str, Any]], bool], within: float = DEADLINE, **fields: Any):
        """`until`, returning only the frame."""
        return (await self.until(kind, within, **fields))[0]

    async def barrier(self) -> list[dict[str, Any]]:
        """Ping and read up to the pong: frames of one socket are handled in order, so everything
        queued for this client before the ping is in the returned list."""
        await self.send(type="ping")
        return (await self.until("pong"))[1]

    async def closed(self, within: float = DEADLINE) -> tuple[int | None, list[dict[str, Any]]]:
        """Read until the server closes the socket: its close code and the frames before."""
        frames: list[dict[str, Any]] = []
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"socket still open after {within}s; read {_short(frames[-10:])}")
            try:
                frames.append(await self.recv(left))
            except Closed as closed:
                return closed.code, frames

    async def close(self) -> None:
        await self.ws.close()


def _params(params: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in params.items() if v is not None}


async def connect(
    client: TestClient, path: str = "/ws", *, headers: dict[str, str] | None = None, **params: Any
) -> Peer:
    """A connected peer that has read its `welcome` (which must come first)."""
    ws = await client.ws_connect(path, params=_params(params), headers=headers, autoping=True)
    peer = Peer(ws)
    first = await peer.recv()
    assert first["type"] == "welcome", first
    peer.welcome = first
    return peer


async def refused(client: TestClient, path: str = "/ws", **params: Any) -> tuple[int | None, list[dict[str, Any]]]:
    """Connect to a socket the server is expected to refuse: its close code and the frames it sent."""
    ws = await client.ws_connect(path, params=_params(params))
    return await Peer(ws).closed()


async def wait_for(condition: Callable[[], bool], within: float = DEADLINE, what: str = "condition") -> None:
    """Poll a condition of the server's state (in this loop) until it holds or the deadline passes.
    Each poll yields to the loop; the tiny sleep only keeps the poll from spinning."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not hold within {within}s")
        await asyncio.sleep(0.005)


class RawSocket:
    """A WebSocket client written by hand on a plain TCP socket with a tiny receive buffer, so that a
    test decides exactly when (and whether) anything is read: the slow consumer."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    @classmethod
    async def connect(cls, host: str, port: int, path: str) -> RawSocket:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        raw = cls(sock)
        async with asyncio.timeout(DEADLINE):
            while b"\r\n\r\n" not in raw.buffer:
                raw.buffer += await raw._read()
        head, raw.buffer = raw.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        return raw

    async def _read(self) -> bytes:
        chunk = await asyncio.get_running_loop().sock_recv(self.sock, 65536)
        if not chunk:
            raise ConnectionError("peer closed the TCP connection")
        return chunk

    async def _need(self, n: int) -> None:
        while len(self.buffer) < n:
            self.buffer += await self._read()

    async def frame(self) -> tuple[int, bytes]:
        """The next (opcode, payload) from the server (unmasked, unfragmented frames)."""
        await self._need(2)
        opcode, length = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F
        offset = 2
        if length == 126:
            await self._need(4)
            (length,) = struct.unpack("!H", self.buffer[2:4])
            offset = 4
        elif length == 127:
            await self._need(10)
            (length,) = struct.unpack("!Q", self.buffer[2:10])
            offset = 10
        await self._need(offset + length)
        payload = self.buffer[offset : offset + length]
        self.buffer = self.buffer[offset + length :]
        return opcode, payload

    async def close_code(self, within: float = DEADLINE) -> tuple[int, int]:
        """Read everything up to the server's close frame: (its code, the text frames before it)."""
        texts = 0
        async with asyncio.timeout(within):
            while True:
                opcode, payload = await self.frame()
                if opcode == 0x8:
                    (code,) = struct.unpack("!H", payload[:2])
                    await self._send_close(code)
                    return code, texts
                if opcode == 0x1:
                    texts += 1

    async def _send_close(self, code: int) -> None:
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(struct.pack("!H", code)))
        with contextlib.suppress(OSError):
            await asyncio.get_running_loop().sock_sendall(self.sock, bytes([0x88, 0x80 | len(body)]) + mask + body)

    def close(self) -> None:
        self.sock.close()
