"""Removing old events while boards and documents keep their state (docs/operators.md): for a channel
with a projection `prune` first stores a snapshot at the head, and never removes an event after the
channel's latest snapshot. The cut itself is collab.store.prune's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from collab.events import Snapshot, utcnow
from collab.naming import check_channel_name
from collab.operators.audit import Actor, record
from collab.operators.history import parse_duration
from collab.projections.base import load_state
from collab.projections.registry import Projections
from collab.store.prune import Pruner
from collab.store.sql import SqlEventStore
from collab.timetext import wire_timestamp


@dataclass(frozen=True)
class Pruned:
    """What `prune` did to one channel: the seqs removed (`removed` events, `first`..`last`), the
    snapshot taken (its seq) for channels with projected state, and the first seq now kept."""

    channel: str
    removed: int
    first: int | None
    last: int | None
    snapshot_seq: int | None
    kept_from: int

    def public(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "removed": self.removed,
            "first": self.first,
            "last": self.last,
            "snapshot_seq": self.snapshot_seq,
            "kept_from": self.kept_from,
        }


async def snapshot_at_head(store: SqlEventStore, projections: Projections, channel: str) -> int | None:
    """Store the state of a channel with a projection at its head (the fold `load_state` gives, the
    one the server and `collab replay` use); the seq of the channel's latest snapshot afterwards.
    None for a channel without projected state."""
    projection = projections.get(channel)
    if projection is None:
        return None
    loaded = await load_state(store, projection, channel)
    if loaded.seq > loaded.snapshot_seq:
        dumped = projection.dump(loaded.state)
        snapshot = (
            Snapshot(channel, loaded.seq, blob=dumped) if projection.binary else Snapshot(channel, loaded.seq, dumped)
        )
        await store.save_snapshot(snapshot)
    latest = await store.latest_snapshot(channel)
    return latest.seq if latest is not None else 0


async def prune(
    store: SqlEventStore,
    projections: Projections,
    older_than: datetime,
    channels: Sequence[str] = (),
    *,
    dry_run: bool = False,
    actor: Actor | None = None,
) -> list[Pruned]:
    """Remove the events stored before `older_than` from `channels` (default: every channel); what
    `actor` removed is recorded on the audit channel (a dry run, or removing nothing, records nothing).

    A channel with projected state (boards, documents) gets a snapshot at its head first, and the cut
    never passes its latest snapshot: the state survives as snapshot + the events after it. The cut is
    always a prefix (collab.store.prune). With `dry_run`, nothing is written or removed."""
    pruner = Pruner(store.engine)
    names = list(channels) or await pruner.channel_names()
    done = []
    for name in names:
        check_channel_name(name)
        first, last = await pruner.cut(name, older_than)
        snapshot_seq: int | None = None
        if last >= first and projections.get(name) is not None:
            if dry_run:
                latest = await store.latest_snapshot(name)
                snapshot_seq = max(latest.seq if latest else 0, await store.head(name))
            else:
                snapshot_seq = await snapshot_at_head(store, projections, name)
            last = min(last, snapshot_seq or 0)
        if last < first:
            done.append(Pruned(name, 0, None, None, snapshot_seq, first if first else await store.head(name) + 1))
            continue
        removed = last - first + 1 if dry_run else await pruner.delete_through(name, first, last)
        done.append(Pruned(name, removed, first, last, snapshot_seq, last + 1))
    changed = [item for item in done if item.removed]
    if actor is not None and changed and not dry_run:
        data = {"older_than": wire_timestamp(older_than), "channels": [item.public() for item in changed]}
        await record(store, actor, "prune", data)
    return done


def older_than(age: str, *, now: datetime | None = None) -> datetime:
    """`90d` → the moment 90 days ago."""
    return (now or utcnow()) - parse_duration(age)


__all__ = ["Pruned", "older_than", "prune", "snapshot_at_head"]
