"""What a fixture opens and must close however the test ends (a store, a cluster of engines)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar


class Closable(Protocol):
    async def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


@asynccontextmanager
async def opened(opening: Awaitable[C]) -> AsyncIterator[C]:
    """What `opening` opens (`Thing.open(...)`, awaited here), closed when the block ends; the standard
    library's `aclosing` calls `aclose`, our stores and clusters have `close`."""
    thing = await opening
    try:
        yield thing
    finally:
        await thing.close()
