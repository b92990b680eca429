"""When SQLite's writer catches the search index up with the log (collab/store/search/writes.py says how,
and why the index follows the log instead of being written in each append's transaction).

The writer counts the events it commits. Once `CATCH_UP_AT` of them are behind, or `CATCH_UP_AFTER`
seconds after the first of them, it catches the index up in a transaction of its own, between its
batches; and at shutdown. A search or a prune catches up first itself, so the count here is this
writer's guess (a search's catch-up leaves it high): a wrong one only moves a catch-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from collab.store.search.writes import catch_up
from collab.store.sqlite_writer import SqliteWriteConnection

log = logging.getLogger(__name__)


class SearchCatchUp:
    """SQLite's writer's schedule for indexing what it committed (see the module docstring)."""

    # A few hundred events share FTS5's cost of a transaction; a quiet channel's are searchable soon
    # anyway, since a search catches up before it reads.
    CATCH_UP_AT = 256
    CATCH_UP_AFTER = 0.5

    def __init__(self, sqlite: SqliteWriteConnection, wake: Callable[[], None]) -> None:
        self._sqlite = sqlite
        self._wake = wake  # wakes the writer, which then calls `run`
        self.behind = 0
        self.due = False
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Events an earlier process committed and did not index (it was killed) go in soon too."""
        self._arm()

    def committed(self, count: int) -> None:
        """A batch of `count` events committed."""
        self.behind += count
        if self.behind >= self.CATCH_UP_AT:
            self.due = True
        elif self._timer is None:
            self._arm()

    async def run(self) -> None:
        """Catch up, in a transaction of its own. A failure is logged and tried again later: a search
        catches up for itself meanwhile."""
        self._caught_up()
        try:
            await self._sqlite.transaction(lambda conn, _: catch_up(conn), [])
        except Exception as error:
            log.warning("indexing the newest events for search failed (tried again later): %s", error)
            self._arm()

    def _caught_up(self) -> None:
        self.behind = 0
        self.due = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self.CATCH_UP_AFTER, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.due = True
        self._wake()
