"""Waiting for a condition with a deadline, instead of sleeping: a healthy run waits milliseconds, a
busy machine gets the whole deadline, and a failure says what did not happen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

# Generous: a busy 2-core machine running two databases (and documents syncing through Node or a
# browser); a healthy run waits milliseconds.
DEADLINE = 15.0
T = TypeVar("T")


async def wait_for(condition: Callable[[], bool], within: float = DEADLINE, what: str = "condition") -> None:
    """Poll a condition of the server's state (in this loop) until it holds or the deadline passes.
    Each poll yields to the loop; the tiny sleep only keeps the poll from spinning."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not hold within {within}s")
        await asyncio.sleep(0.005)


async def eventually(
    read: Callable[[], Awaitable[T]], accept: Callable[[T], bool], what: str, seconds: float = DEADLINE
) -> T:
    """Read (from the store, say) every 10 ms until `accept` takes the value, or fail at the deadline."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await read()
        if accept(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {value!r})")
        await asyncio.sleep(0.01)
