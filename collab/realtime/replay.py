"""Sending a joining client what it missed: from recent memory when that reaches the head, else from
the log in batches, or the channel's state when what it missed is no longer kept. It pauses whenever the
client's outbox is half full (in frames or in bytes), so a replay alone never makes its client too slow
(1013), however large the events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from collab.events import StoredEvent
from collab.realtime.connection import State
from collab.realtime.frames import json_frame
from collab.realtime.recent import RecentEvents
from collab.realtime.session import Session
from collab.store.base import EventStore


async def replay(
    session: Session,
    channel: str,
    since: int,
    head: int,
    *,
    store: EventStore,
    recent: RecentEvents,
    batch: int,
    frame_for: Callable[[Session, StoredEvent], dict[str, Any]],
    state: Callable[[], Awaitable[dict[str, Any]]] | None,
) -> None:
    """Deliver `channel`'s events after `since` up to `head` (at least) to `session`."""
    # Memory serves only when its run reaches the head just read: events published while this
    # process had nobody on the channel (or published by another process) are not in it.
    if not session.legacy_room and recent.last_seq(channel) >= head:
        kept = recent.after(channel, since)
        if kept is not None:
            for seq, text in kept:
                if session.crowded:
                    await session.wait_writable()
                session.deliver(channel, seq, text)
            return
    first = await store.first_seq(channel)
    if first > since + 1:
        # What the client missed is no longer kept: send the state, then the live stream.
        if state is not None:
            frame = await state()
            session.send(frame)
            session.positions[channel] = frame.get("seq", since)
            return
        since = first - 1
    position = since
    while session.state is State.OPEN:
        events = await store.read(channel, after=position, limit=batch)
        for event in events:
            if session.crowded:
                await session.wait_writable()
            session.deliver(channel, event.seq, json_frame(frame_for(session, event)))
        if len(events) < batch:
            return
        position = events[-1].seq
