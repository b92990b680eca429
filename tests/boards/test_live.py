"""The live projection hands out no stale state: a load that an event arriving meanwhile skips past is
loaded again (its `state` frame would be behind an event its socket has had already)."""

from __future__ import annotations

from collab.boards.kanban import KANBAN
from collab.events import NewEvent
from collab.projections.live import LiveProjection
from collab.store.sql import SqlEventStore

CHANNEL = "kanban:live"


def column(n: int) -> NewEvent:
    return NewEvent(CHANNEL, "column_added", {"column": f"c{n}", "title": f"C{n}", "rank": f"i{n}"}, user_id="u1")


async def test_a_load_that_a_delivery_skips_past_is_loaded_again(store: SqlEventStore) -> None:
    for n in (1, 2):
        await store.append(column(n))
    live = LiveProjection(store, KANBAN)
    read = store.read
    reads = 0

    async def read_behind(channel: str, after: int = 0, before: int | None = None, limit: int | None = None):
        # The first load reads the log as it was before events 3 and 4, and 4's delivery comes while
        # it loads (3's came before the load began, when the process had no state to fold it into).
        nonlocal reads
        reads += 1
        if reads == 1:
            events = await read(channel, after=after, before=before, limit=limit)
            for n in (3, 4):
                appended = await store.append(column(n))
                if n == 4:
                    live.on_event(appended.event)
            return events
        return await read(channel, after=after, before=before, limit=limit)

    store.read = read_behind  # type: ignore[method-assign]
    state = await live.get(CHANNEL)
    assert (state.seq, state.stale, sorted(state.state["columns"])) == (4, False, ["c1", "c2", "c3", "c4"])
    assert reads >= 2
