"""The event store's contract suites share this: every implementation of the port, opened on a fresh
database (`database_url`: SQLite and PostgreSQL). The tests see only the `EventStore` Protocol; a new
implementation is one more entry in `IMPLEMENTATIONS`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from collab.events import NewEvent
from collab.store.base import EventStore
from collab.store.sql import SqlEventStore

IMPLEMENTATIONS: dict[str, Callable[[str], Awaitable[EventStore]]] = {"sql": SqlEventStore.open}


def message(channel: str, n: int = 0, **fields: object) -> NewEvent:
    return NewEvent(channel, fields.pop("type", "message"), fields.pop("data", {"n": n}), **fields)  # type: ignore[arg-type]
