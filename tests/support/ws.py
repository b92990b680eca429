"""A small client for the JSON channel socket in tests: read frames with a deadline, wait for a frame
that matches, read until the socket closes. No sleeps: every wait has a condition and a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient

from support.waiting import DEADLINE


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
        if msg.type is WSMsgType.CLOSE:
            # The code in the server's close frame: the client's own `close_code` turns into 1006 when
            # the server drops the TCP connection before the client's reply to that frame went out.
            raise Closed(msg.data, self.frames[-5:])
        if msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            raise Closed(self.ws.close_code, self.frames[-5:])
        raise AssertionError(f"unexpected {msg.type} message: {msg.data!r}")

    async def until(
        self, kind: str | Callable[[dict[str, Any]], bool], within: float = DEADLINE, **fields: Any
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Read until a frame of type `kind` (or for which `kind(frame)` holds) with `fields`; returns
        it and the frames skipped on the way."""
        skipped: list[dict[str, Any]] = []
        deadline, late = time.monotonic() + within, f"no {kind} {fields} within {within}s; skipped"
        while True:
            frame = await self._recv_by(deadline, late, skipped)
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
        deadline, late = time.monotonic() + within, f"socket still open after {within}s; read"
        while True:
            try:
                frames.append(await self._recv_by(deadline, late, frames))
            except Closed as closed:
                return closed.code, frames

    async def _recv_by(self, deadline: float, late: str, read: list[dict[str, Any]]) -> dict[str, Any]:
        """The next frame before the `time.monotonic()` `deadline`; past it a `TimeoutError` that says
        `late` and shows the last frames `read` so far."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{late} {_short(read[-10:])}")
        return await self.recv(left)

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
