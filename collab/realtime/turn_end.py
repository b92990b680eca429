"""The end of a loop turn, where every connection that got frames in the turn writes them: one scheduled
callback a turn for all of them (an event to a room of a hundred sockets is one call, not a hundred).
`collab.realtime.connection` queues a connection here with its first frame of a turn."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

log = logging.getLogger("collab.realtime.connection")


class Flushing(Protocol):
    """What the turn's end asks of a connection."""

    id: str

    def _flush(self) -> None: ...

    def connection_lost(self) -> None: ...


class TurnEnd:
    """The connections with frames to write at the end of this loop turn."""

    __slots__ = ("due", "loop")

    def __init__(self) -> None:
        self.due: list[Flushing] = []
        self.loop: asyncio.AbstractEventLoop | None = None

    def add(self, connection: Flushing) -> None:
        # The loop is asked for once a turn, by the first frame: on Python 3.11 each ask is a system
        # call (`get_running_loop` checks the process id), which every frame to every socket paid.
        if not self.due or self.loop is None or self.loop.is_closed():
            # A new turn; or a loop closed before its turn ended (tests run one loop each): what it
            # left is gone.
            loop = asyncio.get_running_loop()
            if loop is not self.loop:
                self.due, self.loop = [], loop
            if not self.due:
                loop.call_soon(self.flush)
        self.due.append(connection)

    def flush(self) -> None:
        due, self.due = self.due, []
        for connection in due:
            try:
                connection._flush()
            except Exception:  # one socket's fault must not leave the others' frames unwritten
                log.exception("client %s: writing its frames failed", connection.id)
                connection.connection_lost()


turn_end = TurnEnd()
