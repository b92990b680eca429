"""The monitor's figures without sockets: latency percentiles and histogram, events kept after pruning."""

from __future__ import annotations

import random

import sqlalchemy as sa

from collab.events import NewEvent
from collab.operators.figures import LATENCY_BUCKETS, AppendLatency
from collab.store.schema import events
from collab.store.stats import database_figures


def test_percentiles_are_nearest_rank_over_the_interval():
    latency = AppendLatency()
    assert latency.take() == (None, None)
    for ms in range(1, 101):  # 1..100 ms, shuffled
        latency.record(ms / 1000)
    p50, p99 = latency.take()
    assert (round(p50 * 1000), round(p99 * 1000)) == (50, 99)
    assert latency.take() == (None, None)  # each interval starts afresh
    assert latency.count == 100 and abs(latency.total - 5.05) < 1e-9


def test_the_reservoir_stays_bounded_and_the_histogram_counts_everything():
    latency = AppendLatency()
    rng = random.Random(7)
    values = [rng.expovariate(200) for _ in range(20_000)]
    for value in values:
        latency.record(value)
    assert len(latency.window) == AppendLatency.RESERVOIR
    assert sum(latency.buckets) == len(values) == latency.count
    below = sum(1 for v in values if v <= LATENCY_BUCKETS[3])
    assert sum(latency.buckets[:4]) == below  # `le` bounds are inclusive, as Prometheus has them
    p50, p99 = latency.take()
    ordered = sorted(values)
    # A sample of 4,096 out of 20,000: close to the true quantiles.
    assert abs(p50 - ordered[len(values) // 2]) < 0.002
    assert abs(p99 - ordered[int(len(values) * 0.99)]) < 0.01


async def test_events_kept_count_what_pruning_left(store):
    await store.append_many([NewEvent("a", "message", {"n": n}) for n in range(5)])
    await store.append_many([NewEvent("b", "message", {"n": n}) for n in range(3)])
    await store.create_channel("empty")
    stored, size = await database_figures(store.engine)
    assert stored == 8 and size > 0
    # Pruning removes a prefix of a channel's log (collab/store/prune.py): seqs 1-3 of "a" go.
    async with store.engine.begin() as conn:
        await conn.execute(sa.delete(events).where(events.c.channel == "a", events.c.seq <= 3))
    assert (await database_figures(store.engine))[0] == 5
    async with store.engine.begin() as conn:
        await conn.execute(sa.delete(events).where(events.c.channel == "b"))
    assert (await database_figures(store.engine))[0] == 2
