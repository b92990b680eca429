"""Operators' questions on a million stored events (not part of the tests): p50 and p99 of each kind.

    PYTHONPATH=. .venv/bin/python bench/search_bench.py --url sqlite+aiosqlite:////tmp/search-bench/one.db
    PYTHONPATH=. .venv/bin/python bench/search_bench.py --layout spread \\
        --url postgresql+asyncpg://postgres@127.0.0.1:5432/search_bench

The database is made anew: migrated to 0005 (the schema before the search index), loaded with `--events`
chat-like messages (bench/words.py) in bulk straight into its tables (`events`, `channels`: the store's
schema, no writer, for speed), then migrated to the newest schema, which builds the index as it does for
any existing log (migrations 0006 and 0007, which on SQLite builds it once more, contentless; their time is
printed). PostgreSQL then gets `ANALYZE`, as autovacuum
would after that many rows. The log spans 30 days, 100 users; `--layout one` puts it in one channel,
`spread` over 1,000 channels (10 of them direct messages, which an operator's search leaves out).

Each question is asked `--repeat` times (different channels, users and hours where it has them) through the
engine's code for the HTTP endpoints, by an operator: `History.page` for `GET /api/channels/{c}/events`
and `Search.page` for `GET /api/events`, so parsing, the index, the events' rows and the snippets are all
timed; the HTTP layer is not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from alembic import command
from sqlalchemy.engine import make_url
from words import RARE_WORD, Messages

from collab.operators.history import History, HistoryQuery
from collab.operators.search import Search, SearchQuery
from collab.store.migrate import alembic_config
from collab.store.sql import SqlEventStore
from collab.users import User

USERS = [f"u{n:02d}" for n in range(100)]
DAYS = 30
OPERATOR = User("olga", "Olga", roles=frozenset({"operator"}))


def channels_of(layout: str, count: int) -> list[str]:
    if layout == "one":
        return ["general"]
    rooms = [f"room-{n}" for n in range(count - 10)]
    return rooms + [f"dm:{USERS[2 * n]}:{USERS[2 * n + 1]}" for n in range(10)]


def rows(layout: str, events: int, channel_count: int, start: datetime) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """The events' rows in id order: (id, channel, seq, type, user, data, created_at); and the heads."""
    messages = Messages()
    names = channels_of(layout, channel_count)
    chooser = random.Random(3)
    heads = dict.fromkeys(names, 0)
    step = timedelta(days=DAYS) / events
    found = []
    for n in range(events):
        channel = names[n % len(names)]
        heads[channel] += 1
        if channel.startswith("dm:"):
            user, kind = chooser.choice(channel.split(":")[1:]), "private"
        else:
            user, kind = chooser.choice(USERS), "message"
        data = orjson.dumps({"content": messages.message(n)}).decode()
        found.append((n + 1, channel, heads[channel], kind, user, data, start + step * n))
    return found, heads


async def load_sqlite(url: str, events: list[tuple[Any, ...]], heads: dict[str, int], start: datetime) -> None:
    path = make_url(url).database
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        stamp = start.replace(tzinfo=None).isoformat(" ", "microseconds")
        conn.executemany(
            "INSERT INTO channels (name, kind, private, head_seq, created_at) VALUES (?, ?, ?, ?, ?)",
            [
                (name, "dm" if name.startswith("dm:") else "chat", name.startswith("dm:"), head, stamp)
                for name, head in heads.items()
            ],
        )
        conn.executemany(
            "INSERT INTO events (id, channel, seq, type, user_id, nickname, data, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (i, c, s, t, u, u, d, at.replace(tzinfo=None).isoformat(" ", "microseconds"))
                for i, c, s, t, u, d, at in events
            ),
        )
        conn.commit()
    finally:
        conn.close()


async def load_postgres(url: str, events: list[tuple[Any, ...]], heads: dict[str, int], start: datetime) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.copy_records_to_table(
            "channels",
            records=[
                (n, "dm" if n.startswith("dm:") else "chat", n.startswith("dm:"), h, start) for n, h in heads.items()
            ],
            columns=["name", "kind", "private", "head_seq", "created_at"],
        )
        await conn.copy_records_to_table(
            "events",
            records=((i, c, s, t, u, u, d, at) for i, c, s, t, u, d, at in events),
            columns=["id", "channel", "seq", "type", "user_id", "nickname", "data", "created_at"],
        )
        await conn.execute("SELECT setval(pg_get_serial_sequence('events', 'id'), (SELECT max(id) FROM events))")
    finally:
        await conn.close()


def remove_sqlite(path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


async def fresh_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        remove_sqlite(parsed.database)
        return
    admin = await asyncpg.connect(
        parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


def database_bytes(url: str) -> int:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sum(Path(parsed.database + s).stat().st_size for s in ("", "-wal") if Path(parsed.database + s).exists())
    return -1


async def timed(repeat: int, ask: Callable[[int], Awaitable[int]]) -> tuple[float, float, float]:
    """p50 and p99 in ms of `repeat` calls (after one not timed), and the mean number of hits."""
    await ask(-1)
    times, hits = [], []
    for n in range(repeat):
        started = time.perf_counter()
        hits.append(await ask(n))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, round(len(times) * 0.99) - 1)], statistics.mean(hits)


async def questions(
    url: str, layout: str, channel_count: int, start: datetime, repeat: int
) -> list[tuple[str, tuple[float, float, float]]]:
    store = await SqlEventStore.open(url)
    history, search = History(store), Search(store)
    words = Messages().words
    rooms = [name for name in channels_of(layout, channel_count) if not name.startswith("dm:")]

    def pick(n: int) -> tuple[str, str, datetime]:
        """A channel, a user and an hour, the same for the same n."""
        local = random.Random(n)
        return local.choice(rooms), local.choice(USERS), start + timedelta(hours=local.randrange(DAYS * 24 - 24))

    def in_channel(params: dict[str, str]) -> Callable[[int], Awaitable[int]]:
        async def ask(n: int) -> int:
            channel = pick(n)[0]
            page = await history.page(HistoryQuery.parse(channel, {k: [v] for k, v in params.items()}))
            return len(page.events)

        return ask

    def across(params: Callable[[int], dict[str, str]]) -> Callable[[int], Awaitable[int]]:
        async def ask(n: int) -> int:
            page = await search.page(SearchQuery.parse({k: [v] for k, v in params(n).items()}), OPERATOR)
            return len(page.hits)

        return ask

    def window(n: int, hours: int) -> dict[str, str]:
        _, user, hour = pick(n)
        return {"user": user, "since": hour.isoformat(), "until": (hour + timedelta(hours=hours)).isoformat()}

    prefix = words[200][:3] + "*"
    phrase = f'"{words[0]} {words[1]}"'
    asked = [
        (f"channel: rare word ({RARE_WORD})", in_channel({"text": RARE_WORD})),
        (f"channel: common word ({words[0]})", in_channel({"text": words[0]})),
        (f"channel: phrase ({phrase})", in_channel({"text": phrase})),
        (f"channel: prefix ({prefix})", in_channel({"text": prefix})),
        ("channel: user + 1 h window (no text: the log)", in_channel_window(history, pick)),
        ("any channel: user + 1 day window", across(lambda n: window(n, 24))),
        ("any channel: user + 1 h window", across(lambda n: window(n, 1))),
        (f"any channel: rare word ({RARE_WORD})", across(lambda n: {"text": RARE_WORD})),
        (f"any channel: common word ({words[0]})", across(lambda n: {"text": words[0]})),
        (f"any channel: phrase ({phrase})", across(lambda n: {"text": phrase})),
        (f"any channel: prefix ({prefix})", across(lambda n: {"text": prefix})),
        (f"any channel: word ({words[50]}) + user + 1 day", across(lambda n: {"text": words[50], **window(n, 24)})),
    ]
    results = []
    try:
        for name, ask in asked:
            results.append((name, await timed(repeat, ask)))
            print(f"  {name}: p50 {results[-1][1][0]:.1f} ms, p99 {results[-1][1][1]:.1f} ms", flush=True)
    finally:
        await store.close()
    return results


def in_channel_window(
    history: History, pick: Callable[[int], tuple[str, str, datetime]]
) -> Callable[[int], Awaitable[int]]:
    """The per-channel history's user + window (not the index: every event of the channel)."""

    async def ask(n: int) -> int:
        channel, user, hour = pick(n)
        params = {"user": [user], "since": [hour.isoformat()], "until": [(hour + timedelta(hours=1)).isoformat()]}
        return len((await history.page(HistoryQuery.parse(channel, params))).events)

    return ask


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--layout", choices=("one", "spread"), default="one")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=1000, help="channels of the spread layout")
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    start = (datetime.now(UTC) - timedelta(days=DAYS + 1)).replace(microsecond=0)
    dialect = "PostgreSQL" if args.url.startswith("postgresql") else "SQLite"
    print(f"{dialect}, {args.events:,} events, layout {args.layout}", flush=True)

    await fresh_database(args.url)
    config = alembic_config(args.url)
    await asyncio.to_thread(command.upgrade, config, "0005")
    began = time.perf_counter()
    events, heads = rows(args.layout, args.events, args.channels, start)
    made = time.perf_counter()
    await (load_postgres if dialect == "PostgreSQL" else load_sqlite)(args.url, events, heads, start)
    loaded = time.perf_counter()
    del events
    await asyncio.to_thread(command.upgrade, config, "head")
    built = time.perf_counter()
    print(
        f"made {made - began:.1f} s, loaded {loaded - made:.1f} s, index built by migrating to the newest in "
        f"{built - loaded:.1f} s ({args.events / (built - loaded):,.0f} events/s)",
        flush=True,
    )
    if dialect == "PostgreSQL":
        conn = await asyncpg.connect(args.url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            await conn.execute("ANALYZE")
            size = await conn.fetchval("SELECT pg_database_size(current_database())")
        finally:
            await conn.close()
    else:
        size = database_bytes(args.url)
    print(f"database {size / 1e6:,.0f} MB; load average {os.getloadavg()[0]:.2f}", flush=True)
    results = await questions(args.url, args.layout, args.channels, start, args.repeat)
    print(f"\n| {dialect}, {args.layout} | p50 ms | p99 ms | hits (mean) |\n|---|---:|---:|---:|")
    for name, (p50, p99, hits) in results:
        print(f"| {name} | {p50:.1f} | {p99:.1f} | {hits:.0f} |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
