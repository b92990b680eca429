"""The search page in Chromium: `collab serve` on the test's own database (SQLite and PostgreSQL), its log
seeded before the server starts.

A package of its own: Playwright's sync API runs an event loop of its own while the browser is open, so
the browser (package-scoped, see support.browser) is closed before the async tests next to this package run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.browser import (
    browser,  # noqa: F401 - a fixture of this package
    watch,  # noqa: F401 - a fixture
)
from support.databases import in_thread
from support.servers import serving

from collab.events import NewEvent
from collab.store.sql import SqlEventStore

TUESDAY = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def seed_log(url: str) -> None:
    store = await SqlEventStore.open(url)
    try:
        for n in range(12):
            text = "The late invoice from ACME" if n == 5 else f"chatter {n}"
            user = ("ann", "bob")[n % 2]
            at = TUESDAY + timedelta(minutes=n)
            await store.append(
                NewEvent("general", "message", {"content": text}, user_id=user, nickname=user.title(), created_at=at)
            )
        await store.append(
            NewEvent(
                "kanban:ops",
                "card_added",
                {"card": "k1", "title": "Chase the invoice", "labels": ["billing"]},
                user_id="bob",
                nickname="Bob",
                created_at=TUESDAY + timedelta(days=1),
            )
        )
        await store.append(
            NewEvent(
                "dm:ann:bob",
                "private",
                {"content": "that invoice again", "to": "bob"},
                user_id="ann",
                nickname="Ann",
                created_at=TUESDAY,
            )
        )
        await store.append_many(
            [
                NewEvent(
                    "notes",
                    "message",
                    {"content": f"note number {n} of many"},
                    user_id="cyd",
                    nickname="Cyd",
                    created_at=TUESDAY + timedelta(days=2, seconds=n),
                )
                for n in range(60)
            ]
        )
    finally:
        await store.close()


@pytest.fixture
def search_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    in_thread(seed_log(database_url))
    with serving(tmp_path, database_url) as server:
        yield server.url
