"""Projections: a channel's state as a pure fold of its events, and the one loader that rebuilds it.

A projection is a pure, deterministic function (state, event) -> state. It never raises on an event
the log already holds: an event that no longer applies (a card deleted meanwhile by another process)
leaves the state as it was, so every replica and every replay end in the same state. Commands are
validated against the current state *before* their events are appended (see the board kinds).

The server, `collab replay` and the tests all load state through `load_state`: the latest snapshot at
or below the wanted seq, then the events after it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from collab.events import StoredEvent
from collab.store.base import EventStore

Reducer = Callable[[Any, StoredEvent], Any]


@dataclass(frozen=True)
class Projection:
    """`reducers` maps an event type to its pure reducer; events of other types leave the state alone.
    States are JSON-shaped (dicts, lists, numbers, strings), so a snapshot is the state itself unless
    `dump`/`restore` say otherwise (a CRDT document snapshots as bytes)."""

    kind: str
    initial: Callable[[], Any]
    reducers: dict[str, Reducer] = field(default_factory=dict)
    dump: Callable[[Any], Any] = copy.deepcopy
    restore: Callable[[Any], Any] = copy.deepcopy
    # Snapshot after this many events since the last snapshot (and when a channel goes idle).
    snapshot_every: int = 500
    # True when `dump` returns bytes (stored in the snapshot's blob) rather than JSON.
    binary: bool = False
    # How `collab replay` prints a state (JSON-shaped); None prints the state itself.
    show: Callable[[Any], Any] | None = None

    def apply(self, state: Any, event: StoredEvent) -> Any:
        reducer = self.reducers.get(event.type)
        return reducer(state, event) if reducer is not None else state

    def fold(self, state: Any, events: Iterable[StoredEvent]) -> Any:
        for event in events:
            state = self.apply(state, event)
        return state


@dataclass
class Loaded:
    state: Any
    seq: int  # the last event folded in (0: none)
    snapshot_seq: int  # the snapshot it started from (0: none)


async def load_state(
    store: EventStore, projection: Projection, channel: str, *, until: int | None = None, batch: int = 5000
) -> Loaded:
    """The state of `channel` after seq `until` (default: the head): snapshot + tail."""
    snapshot = await store.latest_snapshot(channel, max_seq=until)
    if snapshot is not None:
        state = projection.restore(snapshot.blob if projection.binary else snapshot.data)
        seq = snapshot_seq = snapshot.seq
    else:
        state, seq, snapshot_seq = projection.initial(), 0, 0
    while True:
        before = None if until is None else until + 1
        events = await store.read(channel, after=seq, before=before, limit=batch)
        state = projection.fold(state, events)
        if events:
            seq = events[-1].seq
        if len(events) < batch:
            return Loaded(state, seq, snapshot_seq)
