"""How fast a resume from seq 0 replays stored events over /ws (not part of the tests).

    PYTHONPATH=. .venv/bin/python bench/replay_bench.py [--events 10000] [--repeat 3] [--url URL]

Each run appends `--events` messages straight to the store of a fresh app (a new SQLite file unless
`--url` is given), then times a socket that joins with `since=0` until the last one has arrived. The
tests check that the replay is complete and in order (tests/app/test_lifecycle.py); this prints how long it
takes. The suite used to require under 2 s for 10,000 events.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import orjson
from aiohttp import WSMsgType
from served import served

from app.keys import ENGINE
from collab.events import NewEvent


async def one_run(url: str | None, events: int) -> float:
    async with served(url) as client:
        channel = f"bulk-{uuid.uuid4().hex[:8]}"
        await client.app[ENGINE].store.append_many(
            [NewEvent(channel, "message", {"content": f"m{i}"}, user_id="u1", nickname="w") for i in range(events)]
        )
        started = time.perf_counter()
        ws = await client.ws_connect("/ws", params={"channel": channel, "since": "0"})
        last = 0
        while last < events:
            msg = await ws.receive(timeout=60)
            if msg.type is not WSMsgType.TEXT:
                raise RuntimeError(f"socket ended after seq {last}: {msg}")
            frame = orjson.loads(msg.data)
            if frame["type"] == "message":
                last = frame["seq"]
        elapsed = time.perf_counter() - started
        await ws.close()
        return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times = []
    for run in range(args.repeat):
        elapsed = await one_run(args.url, args.events)
        times.append(elapsed)
        print(f"run {run + 1}: {args.events:,} events replayed in {elapsed:.3f} s ({args.events / elapsed:,.0f}/s)")
    median = statistics.median(times)
    print(f"median: {median:.3f} s ({args.events / median:,.0f} events/s)")


if __name__ == "__main__":
    asyncio.run(main())
