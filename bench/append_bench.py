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
100-character word, so the search index (collab/store/search/) indexes as much as in use. Its cost is the
ratio of two runs: this checkout, and the same script with PYTHONPATH on a checkout without the index
(the commit before it); issue 14's bench note has the figures.

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
    url: str, callers: int, per_caller: int, channels: int, tag: str, notifying: bool, texts: list[str] | None
) -> tuple[float, float, tuple[int, int] | None]:
    store = await SqlEventStore.open(url)
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
    args = parser.parse_args()
    if args.notify and not args.url.startswith("postgresql"):
        parser.error("--notify needs a PostgreSQL --url (SQLite has no NOTIFY)")
    await upgrade_to_head(args.url)
    # Made before the runs, so that making them is not timed.
    messages = Messages()
    texts = [messages.message(n) for n in range(args.callers * args.per_caller)] if args.words else None
    rates = []
    for run in range(args.repeat):
        tag = f"{time.time_ns()}-{run}"
        rate, cpu, notified = await one_run(
            args.url, args.callers, args.per_caller, args.channels, tag, args.notify, texts
        )
        rates.append(rate)
        told = "" if notified is None else f", {notified[0]:,} batches notified, {notified[1]:,} heard"
        print(f"run {run + 1}: {rate:,.0f} events/s, {cpu * 1e6:.1f} us CPU/event{told}")
    print(
        f"median: {statistics.median(rates):,.0f} events/s "
        f"({args.callers} callers x {args.per_caller}, {args.channels} channels"
        f"{', NOTIFY per batch' if args.notify else ''}{', chat-like words' if args.words else ''})"
    )


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
