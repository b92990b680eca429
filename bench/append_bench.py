"""Appends per second with many concurrent callers, each waiting for its commit (not part of the tests).

    .venv/bin/python bench/append_bench.py --url sqlite+aiosqlite:////tmp/b/collab.db
    .venv/bin/python bench/append_bench.py --url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/append_bench.py --url postgresql+asyncpg://postgres@127.0.0.1:5432/bench --notify

The database is migrated first. Each caller appends `--per-caller` events in a loop, awaiting each one,
to one of `--channels` channels; the figure is events committed / wall time, median of `--repeat` runs.
Each run also shows the CPU time this process spent per event (all its threads): on a shared machine
the wall-clock rate swings with the neighbours' load, the CPU time much less. Pin the process to one
CPU (`taskset -c 0`) to measure it as the server runs.

`--words` appends chat-like messages (bench/words.py: 3-20 words each, Zipf frequencies) instead of one
100-character word, so the search index (collab/store/search/) indexes as much as in use.
`--compare-index` measures what the index costs: it alternates runs of this code as it is and of the same
code with no event indexed (the writer's indexer answering None on PostgreSQL, no catch-up of the index on
SQLite; the events, heads and hours are written alike), and prints the ratio of their medians;
docs/operators.md ("What it costs") has the figures.

`--notify` (PostgreSQL only) measures the writer as it runs with the PostgreSQL broker: every batch
sends its NOTIFY inside its transaction (collab.store.notify), and a connection of this process
LISTENs, as a server's broker does, so that PostgreSQL really queues and signals each notification.
`bench/cluster_bench.py` compares the two.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg
from words import Messages

from collab.events import NewEvent
from collab.store import notify
from collab.store.migrate import upgrade_to_head
from collab.store.sql import SqlEventStore


async def listen(url: str) -> tuple[asyncpg.Connection, list[int]]:
    """A LISTEN connection like a broker's; the list counts the notifications it heard."""
    heard = [0]
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))

    def count(*_: object) -> None:
        heard[0] += 1

    await conn.add_listener(notify.EVENTS, count)
    return conn, heard


async def one_run(
    url: str,
    callers: int,
    per_caller: int,
    channels: int,
    tag: str,
    notifying: bool,
    texts: list[str] | None,
    indexing: bool = True,
) -> tuple[float, float, tuple[int, int] | None]:
    store = await SqlEventStore.open(url)
    if not indexing:
        # The same code with no event indexed: what the search index costs is the ratio of the two.
        store.writer._index = lambda event: None  # PostgreSQL's appends
        store.writer.search_catch_up = None  # SQLite's catch-ups
    listener, heard = (await listen(url)) if notifying else (None, None)
    if notifying:
        store.writer.notify_node = "bench"
    try:

        async def caller(index: int) -> None:
            channel = f"bench-{tag}-{index % channels}"
            for n in range(per_caller):
                content = "x" * 100 if texts is None else texts[(index * per_caller + n) % len(texts)]
                await store.append(
                    NewEvent(
                        channel,
                        "message",
                        {"content": content},
                        user_id=f"u{index}",
                        nickname="bench",
                        op_id=f"{tag}.{index}.{n}",
                    )
                )

        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(caller(i) for i in range(callers)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        notified = (store.writer.batches_committed, heard[0]) if heard is not None else None
        return callers * per_caller / elapsed, cpu / (callers * per_caller), notified
    finally:
        await store.close()
        if listener is not None:
            await listener.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--callers", type=int, default=1000)
    parser.add_argument("--per-caller", type=int, default=100)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--notify", action="store_true", help="each batch sends its NOTIFY (PostgreSQL)")
    parser.add_argument("--words", action="store_true", help="chat-like messages of 3-20 words (bench/words.py)")
    parser.add_argument(
        "--compare-index",
        action="store_true",
        help="alternate runs with the search index and without it, and print the ratio of their medians",
    )
    args = parser.parse_args()
    if args.notify and not args.url.startswith("postgresql"):
        parser.error("--notify needs a PostgreSQL --url (SQLite has no NOTIFY)")
    await upgrade_to_head(args.url)
    # Made before the runs, so that making them is not timed.
    messages = Messages()
    texts = [messages.message(n) for n in range(args.callers * args.per_caller)] if args.words else None
    modes = [True, False] if args.compare_index else [True]
    rates: dict[bool, list[float]] = {mode: [] for mode in modes}
    cpus: dict[bool, list[float]] = {mode: [] for mode in modes}
    for run in range(args.repeat):
        for indexing in modes:
            tag = f"{time.time_ns()}-{run}"
            rate, cpu, notified = await one_run(
                args.url, args.callers, args.per_caller, args.channels, tag, args.notify, texts, indexing
            )
            rates[indexing].append(rate)
            cpus[indexing].append(cpu)
            told = "" if notified is None else f", {notified[0]:,} batches notified, {notified[1]:,} heard"
            label = "" if not args.compare_index else (" indexed" if indexing else " unindexed")
            print(f"run {run + 1}{label}: {rate:,.0f} events/s, {cpu * 1e6:.1f} us CPU/event{told}")
    shape = (
        f"({args.callers} callers x {args.per_caller}, {args.channels} channels"
        f"{', NOTIFY per batch' if args.notify else ''}{', chat-like words' if args.words else ''})"
    )
    for indexing in modes:
        label = "" if not args.compare_index else (" indexed" if indexing else " unindexed")
        print(
            f"median{label}: {statistics.median(rates[indexing]):,.0f} events/s, "
            f"{statistics.median(cpus[indexing]) * 1e6:.1f} us CPU/event {shape}"
        )
    if args.compare_index:
        ratio = statistics.median(rates[True]) / statistics.median(rates[False])
        cpu_ratio = statistics.median(cpus[False]) / statistics.median(cpus[True])
        print(f"indexed / unindexed: {ratio:.2f}x the events/s ({cpu_ratio:.2f}x by CPU per event)")


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
