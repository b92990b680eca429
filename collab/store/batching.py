"""Reads asked for in one loop turn, answered by one query.

A burst of sockets joining (a node taking over a dead one's clients, a deploy) asks the store the same
questions for many keys at once: the channel's record, the user's read positions. Each read on its own
costs a pool checkout and a round trip to the database (to aiosqlite's thread on SQLite); a
`TurnBatch` gathers the keys asked for until the end of the turn and reads them with one `IN (...)`
query. The query starts after every request it answers, so no answer is older than its question.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TurnBatch(Generic[K, V]):
    """`await get(key)`: the value `fetch` finds for `key` (None when it finds none), fetched with the
    other keys of the same turn. An error of the query is every waiter's."""

    __slots__ = ("_fetch", "_running", "_waiting")

    def __init__(self, fetch: Callable[[list[K]], Awaitable[dict[K, V]]]) -> None:
        self._fetch = fetch
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._running: set[asyncio.Future[None]] = set()  # held, or the loop could drop them mid-query

    async def get(self, key: K) -> V | None:
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._start)
        future: asyncio.Future[V | None] = loop.create_future()
        self._waiting.setdefault(key, []).append(future)
        return await future

    def _start(self) -> None:
        waiting, self._waiting = self._waiting, {}
        task = asyncio.ensure_future(self._answer(waiting))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _answer(self, waiting: dict[K, list[asyncio.Future[V | None]]]) -> None:
        try:
            found = await self._fetch(list(waiting))
        except asyncio.CancelledError:
            for futures in waiting.values():
                for future in futures:
                    future.cancel()
            raise
        except Exception as error:
            for futures in waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
            return
        for key, futures in waiting.items():
            value = found.get(key)
            for future in futures:
                if not future.done():  # its waiter may have been cancelled
                    future.set_result(value)
