"""Presence coalescing under a burst of joins: how long 50 joins take and how many `presence_diff`
frames a member gets for them (not part of the tests).

    PYTHONPATH=. .venv/bin/python bench/presence_bench.py [--joiners 50]

The tests check one frame per flush and far fewer frames than joiners
(tests/app/test_pubsub_presence.py); how many flush windows the joins spread over depends on the
machine's speed, and this prints it. The suite used to bound the frames by the span / FLUSH_DELAY.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time

import orjson
from served import served

from collab.realtime.presence import FLUSH_DELAY


async def welcomed(client, nickname: str):
    ws = await client.ws_connect("/ws", params={"channel": "crowd", "nickname": nickname})
    first = orjson.loads((await ws.receive(timeout=30)).data)
    assert first["type"] == "welcome", first
    return ws, first["user"]["id"]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joiners", type=int, default=50)
    args = parser.parse_args()
    async with served() as client:
        member, _ = await welcomed(client, "member")
        while orjson.loads((await member.receive(timeout=10)).data)["type"] != "presence":
            pass
        started = time.monotonic()
        crowd = await asyncio.gather(*(welcomed(client, f"c{i}") for i in range(args.joiners)))
        span = time.monotonic() - started
        ids = {user_id for _, user_id in crowd}
        joined: set[str] = set()
        frames = 0
        while joined != ids:
            frame = orjson.loads((await member.receive(timeout=10)).data)
            if frame["type"] == "presence_diff":
                frames += 1
                joined |= {u["id"] for u in frame["joins"]}
        for ws, _ in crowd:
            await ws.close()
        await member.close()
    windows = math.ceil(span / FLUSH_DELAY)
    print(f"{args.joiners} joins over {span:.3f} s ({windows} windows of {FLUSH_DELAY} s): {frames} presence frames")


if __name__ == "__main__":
    asyncio.run(main())
