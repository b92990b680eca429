"""When SQLite's writer stages its batches' search index rows and when it merges them into FTS5
(collab/store/search/writes.py says why it stages them at all).

A batch's rows are staged while fewer than `MERGE_AT` are staged; the batch that brings them to
`MERGE_AT` merges them and puts its own rows straight into FTS5, in its transaction. Rows still staged
`MERGE_AFTER` seconds after the first of them are merged by the writer between batches (`due`), and at
shutdown. A search or a prune merges whatever is staged first, so the counts here are this writer's
guess (a batch rolled back, or a search's merge, leaves them high): a wrong one only moves a merge.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from collab.store.search.writes import SQLITE_INSERT, SQLITE_MERGE, SQLITE_STAGE, merge_pending
from collab.store.sqlite_writer import SqliteWriteConnection

log = logging.getLogger(__name__)


class StagedIndex:
    """SQLite's writer's index rows: staged, or merged and written to FTS5 (see the module docstring)."""

    # A few hundred rows share FTS5's cost of a transaction; a quiet channel's rows are in FTS5 soon.
    MERGE_AT = 256
    MERGE_AFTER = 0.5

    def __init__(self, sqlite: SqliteWriteConnection, wake: Callable[[], None]) -> None:
        self._sqlite = sqlite
        self._wake = wake  # wakes the writer, which then calls `merge`
        self.staged = 0
        self.due = False
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Rows an earlier process staged and did not merge (it was killed) go in soon too."""
        self._arm()

    def write(self, driver: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        """Index a batch's rows `(id, words, facets)` in the caller's transaction."""
        if self.staged + len(rows) < self.MERGE_AT:
            driver.executemany(SQLITE_STAGE, rows)
            self.staged += len(rows)
            if self._timer is None:
                self._arm()
            return
        if self.staged:
            for statement in SQLITE_MERGE:
                driver.execute(statement)
        driver.executemany(SQLITE_INSERT, rows)
        self._merged()

    async def merge(self) -> None:
        """Merge what is staged, in a transaction of its own (between the writer's batches). A failure
        is logged and tried again later: the rows stay staged, where searches find them."""
        self._merged()
        try:
            await self._sqlite.transaction(lambda conn, _: merge_pending(conn), [])
        except Exception as error:
            log.warning("merging the staged search index rows failed (tried again later): %s", error)
            self._arm()

    def _merged(self) -> None:
        self.staged = 0
        self.due = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self.MERGE_AFTER, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.due = True
        self._wake()
