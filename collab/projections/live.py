"""Projected state of the channels in use, kept in memory and in step with the log.

Every committed event of the projection's kind reaches `LiveProjection` through the hub's delivery
(the same path that feeds the sockets, in seq order, from every process). A channel's state is loaded
on first use from its snapshot plus tail; events that arrive while it loads are held and folded in
after. A seq that skips ahead (a delivery this process missed) marks the state stale: it is loaded
again on next use. `catch_up` reads what the delivery has not brought yet, up to the store's head.
A snapshot is stored every `snapshot_every` events and when the channel goes idle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from collab.events import Snapshot, StoredEvent
from collab.naming import channel_kind
from collab.projections.base import Projection, load_state
from collab.store.base import EventStore

log = logging.getLogger(__name__)

# Loads of a channel's state in a row before `get` gives up (each one reads the log up to its head).
LOAD_ATTEMPTS = 3


@dataclass
class LiveState:
    state: Any
    seq: int
    snapshot_seq: int
    stale: bool = False


class LiveProjection:
    def __init__(self, store: EventStore, projection: Projection) -> None:
        self.store = store
        self.projection = projection
        self.states: dict[str, LiveState] = {}
        self._loading: dict[str, list[StoredEvent]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._snapshots: set[asyncio.Task[None]] = set()

    async def get(self, channel: str) -> LiveState:
        """The channel's state, loaded when it has none or a stale one, and loaded again while a load
        comes out stale (at most `LOAD_ATTEMPTS` times, logged): a caller sends it as a `state` frame,
        and a state behind an event its socket has had already loses that event for a client that waits
        for a state before it folds events in."""
        live = self.states.get(channel)
        if live is not None and not live.stale:
            return live
        async with self._lock(channel, "load"):
            for _ in range(LOAD_ATTEMPTS):
                live = self.states.get(channel)
                if live is not None and not live.stale:
                    return live
                held = self._loading[channel] = []
                try:
                    loaded = await load_state(self.store, self.projection, channel)
                finally:
                    self._loading.pop(channel, None)
                live = LiveState(loaded.state, loaded.seq, loaded.snapshot_seq)
                self.states[channel] = live
                for event in held:
                    self._fold(channel, live, event)
                # Stale already: an event that arrived during the load skips past what the load read
                # (it read before a commit whose delivery came first); the log has it all by now.
            log.warning("%s: still behind its deliveries after %d loads", channel, LOAD_ATTEMPTS)
            return live  # type: ignore[return-value]  # a load always sets it

    @asynccontextmanager
    async def command(self, channel: str) -> AsyncIterator[LiveState]:
        """Serialises the commands of one channel in this process: validate against the state, append,
        and the append's delivery has folded the event in before the next command looks."""
        async with self._lock(channel, "command"):
            yield await self.get(channel)

    async def catch_up(self, channel: str) -> LiveState:
        """The channel's state with every event stored so far folded in, whatever this process has been
        delivered: another process's commits reach us through the broker a little later, and a
        command must be decided at the head (collab.boards.channels). Events the delivery folds in
        meanwhile are skipped by seq; a gap (none can come from one read) reloads the state."""
        live = await self.get(channel)
        for event in await self.store.read(channel, after=live.seq):
            self._fold(channel, live, event)
        return await self.get(channel)

    def _lock(self, channel: str, purpose: str) -> asyncio.Lock:
        key = f"{purpose}:{channel}"
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def on_event(self, event: StoredEvent) -> None:
        """A committed event from the hub (any channel)."""
        if channel_kind(event.channel) != self.projection.kind:
            return
        held = self._loading.get(event.channel)
        if held is not None:
            held.append(event)
            return
        live = self.states.get(event.channel)
        if live is not None:
            self._fold(event.channel, live, event)

    def _fold(self, channel: str, live: LiveState, event: StoredEvent) -> None:
        if event.seq <= live.seq or live.stale:
            return
        if event.seq != live.seq + 1:
            log.warning("%s: event %d after %d, reloading its state", channel, event.seq, live.seq)
            live.stale = True
            return
        live.state = self.projection.apply(live.state, event)
        live.seq = event.seq
        if live.seq - live.snapshot_seq >= self.projection.snapshot_every:
            self._snapshot_soon(channel, live)

    def _snapshot_soon(self, channel: str, live: LiveState) -> None:
        live.snapshot_seq = live.seq  # claimed now, so one snapshot is taken per interval
        task = asyncio.ensure_future(self._save(channel, live.seq, self.projection.dump(live.state)))
        self._snapshots.add(task)
        task.add_done_callback(self._snapshots.discard)

    async def _save(self, channel: str, seq: int, dumped: Any) -> None:
        try:
            if self.projection.binary:
                await self.store.save_snapshot(Snapshot(channel, seq, blob=dumped))
            else:
                await self.store.save_snapshot(Snapshot(channel, seq, data=dumped))
        except Exception:
            log.exception("snapshot of %s at %d failed", channel, seq)

    async def idle(self, channel: str) -> None:
        """The channel's last client left: snapshot what is new, then forget the state."""
        live = self.states.pop(channel, None)
        if live is not None and not live.stale and live.seq > live.snapshot_seq:
            await self._save(channel, live.seq, self.projection.dump(live.state))
        self._locks.pop(f"command:{channel}", None)
        self._locks.pop(f"load:{channel}", None)

    async def close(self) -> None:
        """Shutdown: snapshot every channel in use and wait for the snapshots under way."""
        for channel in list(self.states):
            await self.idle(channel)
        if self._snapshots:
            await asyncio.gather(*self._snapshots, return_exceptions=True)
