"""Writing frames to a socket without a task switch when the write completes at once.

aiohttp's send coroutines suspend only when the socket's buffer is full and they must wait for the
peer. Driving them by hand (`begin`) costs nothing when they complete at once; when one suspends, a
drain task (`drain`) finishes it and sends what queued up behind it, in order. Both the JSON sessions
(collab.realtime.session) and the document peers (collab.documents.rooms) write this way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

DONE = object()

Send = Coroutine[Any, Any, None]


def begin(send: Send) -> Any:
    """Run `send` until it completes (`DONE`) or suspends (what it waits on); its errors propagate."""
    try:
        return send.send(None)
    except StopIteration:
        return DONE


async def drain(send: Send, waiting_on: Any, next_send: Callable[[], Send | None]) -> None:
    """Finish the suspended `send`, then every send `next_send()` hands out (None: nothing left),
    switching tasks only while the socket makes us wait."""
    while True:
        while waiting_on is not DONE:
            if isinstance(waiting_on, asyncio.Future):
                await asyncio.wait((waiting_on,))
            else:
                await asyncio.sleep(0)  # a bare yield
            waiting_on = begin(send)
        while waiting_on is DONE:
            following = next_send()
            if following is None:
                return
            send = following
            waiting_on = begin(send)
