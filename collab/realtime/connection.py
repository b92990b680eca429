"""One client socket, whatever it speaks: its state, its bounded outbox, its one close path.

Both sockets the server offers are a `Connection`: the JSON channel socket (`/ws`, a
`collab.realtime.session.Session`) and the y-websocket document socket (`/ws/doc/{name}`, a
`collab.documents.peer.Peer`). They differ in what they carry (text frames, binary frames) and in what
they know about channels; how a frame reaches the socket, how a slow reader is shed, how a socket
closes and when a token expires are the same, and live here once.

Sending: every frame is framed once (collab.realtime.frames) and appended to the connection's outbox;
the frames of one loop turn go to the socket in one write at the end of the turn (each still its own
WebSocket frame), so a client that gets ten events of one commit costs one system call, not ten. When the
socket's buffer is full, one drain task waits for the peer and writes what queued up meanwhile, in order.
An outbox past `queue_limit` frames, or past `queue_bytes` bytes, while the socket makes us wait means
the client cannot keep up: it is closed with 1013 so that it never slows the others nor fills the
server's memory (it comes back and misses nothing stored). What is counted is what is held; one frame of
any size may wait (a document or board bigger than the bound still reaches a client that reads).

Whole states (a document's sync step 2, a board's `state`) are tagged (`tag_last`): whoever answers a
request for one asks `still_sending(tag)` first, and a request that comes while the last answer has not
been written yet gets none. That answer, and the live frames queued behind it, bring the client up to
date, so a client that asks again loses nothing; one that asks 300 times without reading costs one
state, not 300.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import itertools
import logging
import os
import sys
import time
from typing import Protocol

from collab.realtime.frames import binary_frame, text_frame
from collab.realtime.turn_end import turn_end
from collab.users import User

log = logging.getLogger(__name__)


class CloseCode(enum.IntEnum):
    """Every WebSocket close code the server sends, on either socket."""

    NORMAL = 1000
    GOING_AWAY = 1001  # the server shuts down
    UNSUPPORTED_DATA = 1003  # a text frame on the binary document socket
    INVALID_PAYLOAD = 1007  # a document frame that does not decode
    POLICY_VIOLATION = 1008  # bad or expired token, not allowed in the channel, kicked or revoked
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011  # the server could not store an update: reconnect and resync
    TRY_AGAIN_LATER = 1013  # overloaded, or too slow to keep up: resume with `since`
    # An update would take its document past COLLAB_DOC_MAX_BYTES (/ws/doc only). In y-websocket's
    # 4400-4499 range: its client does not reconnect to send the same update again.
    DOCUMENT_TOO_LARGE = 4413


class State(enum.Enum):
    """OPEN → CLOSING (stopped sending; flushing or closing the socket) → CLOSED. Never back."""

    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


# The states the per-frame paths compare with, as plain names: reading a member off an Enum class goes
# through its metaclass's `__getattr__` hook (65 ns where a module global is 20), twice a frame.
_OPEN = State.OPEN
_CLOSED = State.CLOSED


class Transport(Protocol):
    """What a connection needs from a socket; `app/sockets.py` adapts aiohttp's, tests use fakes.

    `write` takes whole WebSocket frames (collab.realtime.frames) and never suspends: it returns False
    when the socket's buffer is past its high-water mark, and the connection then awaits `drained`
    before it writes again (back-pressure). Both raise ConnectionError once the socket is closing or
    gone. `close` is idempotent."""

    def write(self, data: bytes) -> bool: ...

    async def drained(self) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


# What one connection may have waiting (COLLAB_SEND_QUEUE_LIMIT, COLLAB_SEND_QUEUE_BYTES).
DEFAULT_QUEUE_LIMIT = 4096
DEFAULT_QUEUE_BYTES = 8 * 1024 * 1024

_ids = itertools.count(1)
_PREFIX = os.urandom(3).hex()


def new_client_id() -> str:
    """Unique in this process and unlikely to repeat across processes or restarts."""
    return f"{_PREFIX}{next(_ids):x}"


class Connection:
    """A connected client: its id, its user, and the one way frames reach its socket."""

    __slots__ = (
        "_binary",
        "_close_code",
        "_close_reason",
        "_drainer",
        "_expiry",
        "_flush_due",
        "_outbox",
        "_queued_bytes",
        "_tags",
        "_writable",
        "_written",
        "connected_at",
        "id",
        "queue_bytes",
        "queue_limit",
        "state",
        "transport",
        "user",
    )

    def __init__(
        self,
        transport: Transport,
        user: User,
        *,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
        binary: bool = False,
        client_id: str | None = None,
    ) -> None:
        self.id = client_id or new_client_id()
        self.user = user
        self.transport = transport
        self.queue_limit = queue_limit
        self.queue_bytes = queue_bytes
        self.state = State.OPEN
        self.connected_at = time.time()
        self._binary = binary
        # Framed bytes not written yet: this turn's (a flush is due at its end) or, while the socket
        # makes us wait, everything since (the drain task writes them).
        # A list, not a deque: it is only ever appended to and taken whole, and an idle socket's empty
        # list is 56 bytes where a deque keeps a 500-byte block.
        self._outbox: list[bytes] = []
        self._queued_bytes = 0  # what the frames in `_outbox` hold (see `_BYTES_HEADER`)
        self._flush_due = False
        # Frames written to the socket so far, and per tag the count at which its frame will have been.
        self._written = 0
        self._tags: dict[str, int] | None = None
        self._drainer: asyncio.Future[None] | None = None
        self._writable: asyncio.Event | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._close_code: int | None = None
        self._close_reason = ""

    # -- sending ---------------------------------------------------------------------------------

    def send_frame(self, frame: str | bytes) -> None:
        """Queue one frame's payload (text on a text connection, bytes on a binary one)."""
        if self.state is State.OPEN:
            self.send_wire(binary_frame(frame) if self._binary else text_frame(frame))  # type: ignore[arg-type]

    def send_wire(self, wire: bytes) -> None:
        """Queue one whole frame, framed already (collab.realtime.frames): how a frame that goes to
        many sockets is sent, framed once."""
        if self.state is not _OPEN:
            return
        outbox = self._outbox
        size = len(wire) + _BYTES_HEADER  # `sys.getsizeof(wire)`, which costs 0.1 µs a frame
        if self._drainer is not None:
            # The socket makes us wait: what queues up meanwhile is bounded.
            if outbox and (len(outbox) >= self.queue_limit or self._queued_bytes + size > self.queue_bytes):
                log.warning(
                    "client %s (%s) too slow: %d frames, %d bytes queued, closing",
                    self.id,
                    self.user.id,
                    len(outbox),
                    self._queued_bytes,
                )
                self.close_soon(CloseCode.TRY_AGAIN_LATER, "too slow to keep up; resume with since")
                return
        elif not self._flush_due:
            self._flush_due = True
            turn_end.add(self)
        outbox.append(wire)
        self._queued_bytes += size

    def tag_last(self, tag: str) -> None:
        """Remember the frame just sent as the latest under `tag` (a whole state): `still_sending(tag)`
        is True until it has been written to the socket."""
        if not self._outbox:  # the connection is gone: nothing waits
            if self._tags is not None:
                self._tags.pop(tag, None)
            return
        if self._tags is None:
            self._tags = {}
        self._tags[tag] = self._written + len(self._outbox)

    def still_sending(self, tag: str) -> bool:
        """Whether the latest frame sent under `tag` is still waiting to be written (see `tag_last`)."""
        if self._tags is None:
            return False
        written_at = self._tags.get(tag)
        return written_at is not None and self._written < written_at and bool(self._outbox)

    def _flush(self) -> None:
        """The end of the turn: this turn's frames in one write; a drain task takes over if the socket
        is full (and if one runs, it writes them)."""
        self._flush_due = False
        if self._drainer is not None or not self._outbox or self.state is _CLOSED:
            return
        try:
            more = self.transport.write(self._take_outbox())
        except (ConnectionError, RuntimeError):
            self.connection_lost()
            return
        if not more:
            self._drainer = asyncio.ensure_future(self._drain())
        if self._writable is not None:
            self._signal_writable()

    def _take_outbox(self) -> bytes:
        """Everything queued, as one write's bytes; counted as written."""
        outbox = self._outbox
        data = outbox[0] if len(outbox) == 1 else b"".join(outbox)
        self._written += len(outbox)
        self._outbox = []
        self._queued_bytes = 0
        return data

    async def _drain(self) -> None:
        try:
            while True:
                await self.transport.drained()
                if not self._outbox or self.state is State.CLOSED:
                    break
                more = self.transport.write(self._take_outbox())
                self._signal_writable()
                if more:
                    break
        except (ConnectionError, RuntimeError):
            self._clear_outbox()
        finally:
            self._drainer = None
            self._signal_writable()
            if self.state is State.CLOSING:
                await self._close_transport()

    def _clear_outbox(self) -> None:
        self._outbox = []
        self._queued_bytes = 0

    def _signal_writable(self) -> None:
        if self._writable is not None and not self.crowded:
            self._writable.set()

    @property
    def queued(self) -> int:
        return len(self._outbox)

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    @property
    def crowded(self) -> bool:
        """Whether the outbox is more than half full, in frames or in bytes."""
        return len(self._outbox) > self.queue_limit // 2 or self._queued_bytes > self.queue_bytes // 2

    async def wait_writable(self) -> None:
        """Wait until the outbox is at most half full (a replay pauses here instead of overflowing)."""
        while self.state is State.OPEN and self.crowded:
            if self._writable is None:
                self._writable = asyncio.Event()
            self._writable.clear()
            await self._writable.wait()

    # -- closing ---------------------------------------------------------------------------------

    def expire_with_token(self, leeway: float) -> None:
        """Close with 1008 when the user's token expires, with the `leeway` it was accepted with (or a
        token let in by the leeway would close at once)."""
        expires_at = self.user.expires_at
        if expires_at is None or self.state is not State.OPEN:
            return
        self._expiry = asyncio.get_running_loop().call_later(
            max(0.0, expires_at + leeway - time.time()),
            self.close_soon,
            CloseCode.POLICY_VIOLATION,
            "token expired",
            context=_TIMER_CONTEXT,
        )

    @property
    def close_code(self) -> int | None:
        """The code this side closed with (None if the peer closed first or it is open)."""
        return self._close_code

    def close_soon(self, code: int, reason: str = "", *, flush: bool = False) -> None:
        """Close from any context: stop sending; send what waits for a slow socket first only when
        `flush` is set. This turn's frames go out either way (the frame that says why, sent just
        before, among them): they wait for the end of the turn, not for the client."""
        if self.state is not State.OPEN:
            return
        self.state = State.CLOSING
        self._close_code = code
        self._close_reason = reason
        self._stop_expiry()
        if not flush and self._drainer is not None:
            self._clear_outbox()
        if self._drainer is None:
            self._drainer = asyncio.ensure_future(self._close_transport())
        self._signal_writable()

    async def close(self, code: int, reason: str = "", *, flush: bool = True) -> None:
        """Close and wait until the socket is closed (after what is queued, unless not `flush`)."""
        self.close_soon(code, reason, flush=flush)
        drainer = self._drainer
        if drainer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await drainer

    async def _close_transport(self) -> None:
        if self.state is State.CLOSED:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            # What is queued goes before the close frame (`close_soon` dropped it unless asked to flush).
            while self._outbox and self.state is State.CLOSING:
                if not self.transport.write(self._take_outbox()):
                    await self.transport.drained()
        self.state = State.CLOSED
        self._drainer = None
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.transport.close(self._close_code or CloseCode.NORMAL, self._close_reason)

    def connection_lost(self) -> None:
        """The socket is gone (the peer left, or its handler ended): drop what is queued."""
        self.state = State.CLOSED
        self._stop_expiry()
        self._clear_outbox()
        self._signal_writable()
        if self._drainer is not None and not self._drainer.done():
            self._drainer.cancel()

    def ended(self) -> None:
        """The socket's handler is done reading: a connection still open is gone (a closing one
        finishes its close on its own)."""
        self._stop_expiry()
        if self.state is State.OPEN:
            self.connection_lost()

    def _stop_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None


# The context every connection's expiry runs in: `close_soon` reads no context variable, and a timer
# given none copies the current one, which each idle socket would keep (130 bytes) for its token's life.
_TIMER_CONTEXT = contextvars.Context()


# What a queued frame holds in memory is its bytes and the object's header and trailing NUL, which
# `sys.getsizeof(b"")` says.
_BYTES_HEADER = sys.getsizeof(b"")
