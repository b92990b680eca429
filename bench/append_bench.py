"""Appends per second with many concurrent callers, each waiting for its commit (not part of the tests).

    .venv/bin/python bench/append_bench.py --url sqlite+aiosqlite:////tmp/b/collab.db
    .venv/bin/python bench/append_bench.py --url postgresql+asyncpg://postgres@127.0.0.1:5432/bench

The database is migrated first. Each caller appends `--per-caller` events in a loop, awaiting each one,
to one of `--channels` channels; the figure is events committed / wall time, median of `--repeat` runs.
Each run also shows the CPU time this process spent per event (all its threads): on a shared machine
the wall-clock rate swings with the neighbours' load, the CPU time much less. Pin the process to one
CPU (`taskset -c 0`) to measure it as the server runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from collab.events import NewEvent
from collab.store.migrate import upgrade_to_head
from collab.store.sql import SqlEventStore


async def one_run(url: str, callers: int, per_caller: int, channels: int, tag: str) -> tuple[float, float]:
    store = await SqlEventStore.open(url)
    try:

        async def caller(index: int) -> None:
            channel = f"bench-{tag}-{index % channels}"
            for n in range(per_caller):
                await store.append(
                    NewEvent(
                        channel,
                        "message",
                        {"content": "x" * 100},
                        user_id=f"u{index}",
                        nickname="bench",
                        op_id=f"{tag}.{index}.{n}",
                    )
                )

        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(caller(i) for i in range(callers)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        return callers * per_caller / elapsed, cpu / (callers * per_caller)
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--callers", type=int, default=1000)
    parser.add_argument("--per-caller", type=int, default=100)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    await upgrade_to_head(args.url)
    rates = []
    for run in range(args.repeat):
        rate, cpu = await one_run(args.url, args.callers, args.per_caller, args.channels, f"{time.time_ns()}-{run}")
        rates.append(rate)
        print(f"run {run + 1}: {rate:,.0f} events/s, {cpu * 1e6:.1f} us CPU/event")
    print(
        f"median: {statistics.median(rates):,.0f} events/s "
        f"({args.callers} callers x {args.per_caller}, {args.channels} channels)"
    )


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
