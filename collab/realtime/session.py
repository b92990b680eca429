"""One client connection: its user, its channels, and its bounded outbox."""

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

from collab.realtime import writes
from collab.realtime.protocol import CloseCode, encode
from collab.users import User

log = logging.getLogger(__name__)


class Transport(Protocol):
    """What a session needs from a socket. `app/ws.py` adapts aiohttp's WebSocketResponse; tests use
    fakes. `send_text` suspends only when the socket's buffer is full and it must wait for the peer
    (back-pressure); otherwise it completes without suspending. `close` is idempotent."""

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

    Sending: a frame is written to the socket at once when nothing is waiting; when the socket's buffer is
    full, the frame's send is finished by one drain task and later frames wait in the outbox behind it, in
    order. An outbox past `queue_limit` frames means the client cannot keep up: it is closed with 1013 so
    that it never slows the others (it comes back with `since` and misses nothing stored).
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
        self._drainer: asyncio.Task[None] | None = None
        self._writable: asyncio.Event | None = None
        self._close_code: int | None = None
        self._close_reason = ""

    # -- the channel API -------------------------------------------------------------------------

    def send(self, data: dict[str, Any]) -> None:
        """Queue one frame for this client."""
        if self.legacy_room and "room" not in data:
            # Base's pages read `room` on every frame, also on acks, errors, pongs and room lists.
            data = {**data, "room": data.get("channel") or self.attrs.get("home")}
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
        if self._drainer is None:
            self._start_send(text)
            return
        if len(self._outbox) >= self.queue_limit:
            log.warning("client %s (%s) too slow: %d frames queued, closing", self.id, self.user.id, len(self._outbox))
            self.close_soon(CloseCode.TRY_AGAIN_LATER, "too slow to keep up; resume with since")
            return
        self._outbox.append(text)

    def deliver(self, channel: str, seq: int, text: str) -> None:
        """Send a stored event of `channel` unless this client has had it already (resume overlap)."""
        if seq <= self.positions.get(channel, 0):
            return
        self.positions[channel] = seq
        self.send_encoded(text)

    def _start_send(self, text: str) -> None:
        """Write now; a drain task takes over only if the socket makes the write wait (collab.realtime.writes)."""
        send = self.transport.send_text(text)
        try:
            waiting_on = writes.begin(send)
        except (ConnectionError, RuntimeError):
            self.connection_lost()
            return
        if waiting_on is not writes.DONE:
            self._drainer = asyncio.ensure_future(self._drain(send, waiting_on))

    async def _drain(self, send: Any, waiting_on: Any) -> None:
        try:
            await writes.drain(send, waiting_on, self._next_send)
        except (ConnectionError, RuntimeError):
            self._outbox.clear()
        finally:
            self._drainer = None
            self._signal_writable()
            if self.state is State.CLOSING:
                await self._close_transport()

    def _next_send(self) -> Any:
        self._signal_writable()
        if not self._outbox or self.state is State.CLOSED:
            return None
        return self.transport.send_text(self._outbox.popleft())

    def _signal_writable(self) -> None:
        if self._writable is not None and len(self._outbox) <= self.queue_limit // 2:
            self._writable.set()

    @property
    def close_code(self) -> int | None:
        """The code this side closed with (None if the peer closed first or it is open)."""
        return self._close_code

    @property
    def queued(self) -> int:
        return len(self._outbox)

    async def wait_writable(self) -> None:
        """Wait until the outbox is at most half full (a replay pauses here instead of overflowing)."""
        while self.state is State.OPEN and len(self._outbox) > self.queue_limit // 2:
            if self._writable is None:
                self._writable = asyncio.Event()
            self._writable.clear()
            await self._writable.wait()

    # -- closing ---------------------------------------------------------------------------------

    def close_soon(self, code: int, reason: str = "", *, flush: bool = False) -> None:
        """Close from any context: stop sending; send what is queued first when `flush` is set."""
        if self.state is not State.OPEN:
            return
        self.state = State.CLOSING
        self._close_code = code
        self._close_reason = reason
        if not flush:
            self._outbox.clear()
        if self._drainer is None:
            self._drainer = asyncio.ensure_future(self._close_transport())
        self._signal_writable()

    async def close(self, code: int, reason: str = "", *, flush: bool = True) -> None:
        self.close_soon(code, reason, flush=flush)
        drainer = self._drainer
        if drainer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await drainer

    async def _close_transport(self) -> None:
        if self.state is State.CLOSED:
            return
        self.state = State.CLOSED
        self._drainer = None
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.transport.close(self._close_code or CloseCode.NORMAL, self._close_reason)

    def connection_lost(self) -> None:
        """The socket is gone (the peer left): drop what is queued."""
        self.state = State.CLOSED
        self._outbox.clear()
        self._signal_writable()
        if self._drainer is not None and not self._drainer.done():
            self._drainer.cancel()
