"""The monitor's cadence: the spacing of its `metrics` samples, by the server's clock and by arrival
(not part of the tests).

    PYTHONPATH=. .venv/bin/python bench/monitor_bench.py [--samples 6]

The tests check that samples come, in order, with every field (tests/monitor/test_monitor.py); this prints
how far apart they are. The interval is 1 s (`monitor_interval_seconds`); the suite used to require
0.7-1.3 s between stamps.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time

import orjson
from served import served


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=6)
    args = parser.parse_args()
    async with served() as client:
        ws = await client.ws_connect("/ws", params={"channel": "monitor", "nickname": "bench"})
        stamps: list[float] = []
        arrived: list[float] = []
        while len(stamps) < args.samples:
            frame = orjson.loads((await ws.receive(timeout=10)).data)
            if frame["type"] == "metrics":
                stamps.append(frame["time"])
                arrived.append(time.monotonic())
        await ws.close()
    for label, points in (("server clock", stamps), ("arrival", arrived)):
        gaps = [b - a for a, b in itertools.pairwise(points)]
        print(
            f"{label}: mean {statistics.mean(gaps):.3f} s, min {min(gaps):.3f} s, max {max(gaps):.3f} s "
            f"over {len(gaps)} intervals"
        )


if __name__ == "__main__":
    asyncio.run(main())
