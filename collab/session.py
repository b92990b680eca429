"""One client connection: its user, its channels, and a bounded outbox drained by one writer task."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import os
import time
from collections import deque
from typing import Any, Protocol

from collab.protocol import CloseCode, encode
from collab.users import User

log = logging.getLogger(__name__)


class Transport(Protocol):
    """What a session needs from a socket. `app/ws.py` adapts aiohttp's WebSocketResponse; tests use
    fakes. `send_text` may wait for the peer (back-pressure); `close` is idempotent."""

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class State(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


_ids = itertools.count(1)
_PREFIX = os.urandom(3).hex()


def new_client_id() -> str:
    """Unique in this process and unlikely to repeat across processes or restarts."""
    return f"{_PREFIX}{next(_ids):x}"


class Session:
    """A connected client (`client` in the channel API).

    Frames are queued, never awaited on the sender's side: one writer task sends them in order. A client
    whose outbox passes `queue_limit` frames is too slow to keep up; it is closed with 1013 so that it
    never slows the others (it comes back with `since` and misses nothing stored).
    """

    def __init__(
        self,
        transport: Transport,
        user: User,
        *,
        queue_limit: int = 4096,
        legacy_room: bool = False,
        client_id: str | None = None,
    ) -> None:
        self.id = client_id or new_client_id()
        self.user = user
        self.transport = transport
        self.queue_limit = queue_limit
        # Base's clients (connected with `room=`) want `room` on every frame and `users_update` lists.
        self.legacy_room = legacy_room
        self.state = State.OPEN
        self.channels: set[str] = set()
        # Per channel, the last seq this client has been sent: replay and live delivery overlap during a
        # resume, and this is what drops the overlap.
        self.positions: dict[str, int] = {}
        self.attrs: dict[str, Any] = {}
        # Channels being replayed to this client: live events wait here until the replay is sent.
        self.holding: dict[str, list[tuple[int, str]]] = {}
        self.connected_at = time.time()
        self._outbox: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._close_code: int | None = None
        self._close_reason = ""

    # -- the channel API -------------------------------------------------------------------------

    def send(self, data: dict[str, Any]) -> None:
        """Queue one frame for this client."""
        self.send_encoded(encode(data))

    def get_attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def set_attr(self, name: str, value: Any) -> None:
        self.attrs[name] = value

    @property
    def nickname(self) -> str:
        return self.user.name

    # -- delivery --------------------------------------------------------------------------------

    def send_encoded(self, text: str) -> None:
        if self.state is not State.OPEN:
            return
        if len(self._outbox) >= self.queue_limit:
            log.warning("client %s (%s) too slow: %d frames queued, closing", self.id, self.user.id, len(self._outbox))
            self.close_soon(CloseCode.TRY_AGAIN_LATER, "too slow to keep up; resume with since")
            return
        self._outbox.append(text)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name=f"session-writer-{self.id}")
        self._wakeup.set()

    def deliver(self, channel: str, seq: int, text: str) -> None:
        """Queue a stored event of `channel` unless this client has had it already (resume overlap)."""
        if seq <= self.positions.get(channel, 0):
            return
        self.positions[channel] = seq
        self.send_encoded(text)

    @property
    def queued(self) -> int:
        return len(self._outbox)

    async def _write_loop(self) -> None:
        try:
            while self.state is State.OPEN or (self.state is State.CLOSING and self._outbox):
                if not self._outbox:
                    if self.state is not State.OPEN:
                        break
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                await self.transport.send_text(self._outbox.popleft())
                if len(self._outbox) <= self.queue_limit // 2:
                    self._drained.set()
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            self._outbox.clear()
        finally:
            if self._close_code is not None:
                await self._close_transport()

    async def wait_writable(self) -> None:
        """Wait until the outbox is at most half full (a replay pauses here instead of overflowing)."""
        while self.state is State.OPEN and len(self._outbox) > self.queue_limit // 2:
            self._drained.clear()
            await self._drained.wait()

    # -- closing ---------------------------------------------------------------------------------

    def close_soon(self, code: int, reason: str = "", *, flush: bool = False) -> None:
        """Close from any context: stop queueing; send what is queued first when `flush` is set."""
        if self.state is not State.OPEN:
            return
        self.state = State.CLOSING
        self._close_code = code
        self._close_reason = reason
        if not flush:
            self._outbox.clear()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._close_transport())
        else:
            self._wakeup.set()

    async def close(self, code: int, reason: str = "", *, flush: bool = True) -> None:
        self.close_soon(code, reason, flush=flush)
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _close_transport(self) -> None:
        if self.state is State.CLOSED:
            return
        self.state = State.CLOSED
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.transport.close(self._close_code or CloseCode.NORMAL, getattr(self, "_close_reason", ""))

    def connection_lost(self) -> None:
        """The socket is gone (the peer left): stop the writer."""
        self.state = State.CLOSED
        self._outbox.clear()
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
