"""What happens to each frame a `/ws` client sends, in the order they arrive (the shell reads the socket
and hands every frame here)."""

from __future__ import annotations

import asyncio
from typing import Any

from collab.errors import ProtocolError
from collab.realtime.dispatch import Dispatcher
from collab.realtime.limits import TokenBucket, frame_cost, take_all
from collab.realtime.protocol import decode_frame, error_frame, optional_id
from collab.realtime.session import Session

# Frames that only append: safe to have many in flight per client.
PIPELINED = frozenset({"message", "publish", "private"})
MAX_INFLIGHT = 256


class Inbox:
    """One client's incoming frames: rate-limited, parsed, then handled in order.

    Every frame, text or binary, malformed or not, takes its cost (`collab.realtime.limits.FRAME_COSTS`)
    from the connection's bucket and from the bucket its user's connections share (`user_bucket`); a
    frame one of them cannot pay is dropped and answered with `rate_limited`.

    Appends are pipelined: each is validated and queued for the store as it arrives, in frame order (seqs
    follow it), and only its commit is awaited, in a task of its own, so that one client can have up to
    `max_inflight` appends in flight. Any other frame waits for the appends before it to take their places
    in the store's queue first."""

    __slots__ = ("_inflight", "_loop", "buckets", "dispatcher", "frames_in", "max_inflight", "session")

    def __init__(
        self,
        session: Session,
        dispatcher: Dispatcher,
        bucket: TokenBucket,
        *,
        user_bucket: TokenBucket | None = None,
        max_inflight: int = MAX_INFLIGHT,
    ) -> None:
        self.session = session
        self.dispatcher = dispatcher
        self.buckets = (bucket,) if user_bucket is None else (bucket, user_bucket)
        self.max_inflight = max_inflight
        self.frames_in = 0
        # Made by the first pipelined frame: an idle socket keeps no empty set (200 bytes).
        self._inflight: set[asyncio.Task[None]] | None = None
        self._loop = asyncio.get_running_loop()

    async def text(self, data: str) -> None:
        """A text frame: handled, or answered with an `error` frame (nothing is stored then)."""
        self.frames_in += 1
        session = self.session
        try:
            frame = decode_frame(data)
        except ProtocolError as error:
            if self._pay(1):
                session.send(error_frame(error.code, str(error)))
            return
        if not self._pay(frame_cost(frame["type"]), frame):
            return
        inflight = self._inflight
        if frame["type"] in PIPELINED:
            if inflight is None:
                inflight = self._inflight = set()
            elif len(inflight) >= self.max_inflight:
                await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
            # Named: an unnamed task formats "Task-<n>" for itself, on every message.
            task = self._loop.create_task(self.dispatcher.handle(session, frame), name="append")
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        else:
            if inflight:
                await asyncio.sleep(0)  # the appends above take their places in the store's queue first
            await self.dispatcher.handle(session, frame)

    def binary(self) -> None:
        self.frames_in += 1
        if self._pay(1):
            self.session.send(error_frame("bad_request", "binary frames are not accepted on this socket"))

    def _pay(self, cost: int, frame: dict[str, Any] | None = None) -> bool:
        """Take `cost` from the buckets; when they cannot pay it, answer `rate_limited` instead."""
        if take_all(cost, self.buckets):
            return True
        # With appends pipelined, this error can overtake earlier frames' acks: its `id` is how the
        # client knows which frame was dropped.
        self.session.send(error_frame("rate_limited", "too many frames; slow down", _frame_id(frame)))
        return False


def _frame_id(frame: dict[str, Any] | None) -> str | None:
    """The `id` of a frame that is refused without being handled, when it has a readable one."""
    if frame is None:
        return None
    try:
        return optional_id(frame)
    except ProtocolError:
        return None
