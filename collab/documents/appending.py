"""One update on its way into the store, driven by hand rather than by a task (collab.documents.rooms)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from collab.events import Appended


class Append:
    """`store.append` awaited by stepping its coroutine.

    The first step (`step()`, called by whoever queued it) runs at once, so the update is queued for the
    group commit in the order its frame arrived (a task would start one loop iteration later), and the
    step after the commit runs from the future's callback, in commit order, where a task would take
    another iteration to wake. `committed(self, appended)` or `failed(self, error)` runs then, and
    `done` resolves when they have.
    """

    __slots__ = ("committed", "coro", "done", "failed", "loop", "peer", "relay", "room", "waiting")

    def __init__(
        self,
        coro: Coroutine[Any, Any, Appended],
        loop: asyncio.AbstractEventLoop,
        room: Any,
        peer: Any,
        relay: bytes,
        committed: Callable[[Append, Appended], None],
        failed: Callable[[Append, BaseException], None],
    ) -> None:
        self.coro, self.loop, self.room, self.peer, self.relay = coro, loop, room, peer, relay
        self.committed, self.failed = committed, failed
        self.done: asyncio.Future[None] = loop.create_future()
        # What the append waits on now (None while it runs): the manager looks whether it is done.
        self.waiting: asyncio.Future[Any] | None = None

    def step(self, _: object = None) -> None:
        try:
            waiting = self.coro.send(None)
        except StopIteration as stop:
            self.waiting = None
            try:
                self.committed(self, stop.value)
            finally:
                self.done.set_result(None)
            return
        except Exception as error:
            self.waiting = None
            self.failed(self, error)
            self.done.set_result(None)
            return
        if isinstance(waiting, asyncio.Future):
            self.waiting = waiting
            waiting.add_done_callback(self.step)
        else:  # a bare yield (`asyncio.sleep(0)`)
            self.waiting = None
            self.loop.call_soon(self.step)
