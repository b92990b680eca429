"""A crowd of ordinary WebSocket clients in a process of its own (`python -m support.crowd URL N ROOMS`),
so that holding thousands of sockets costs the test's own loop nothing: each socket joins
`lobby-<i % ROOMS>` as a guest and reads whatever comes. Prints `ready <seconds>` once all are
connected, then, when its standard input closes, `open <count>` (the sockets still connected) and exits."""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp


async def main(url: str, count: int, rooms: int) -> None:
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets: list[aiohttp.ClientWebSocketResponse] = []

        async def join(i: int) -> None:
            sockets.append(await http.ws_connect(f"{url}/ws?channel=lobby-{i % rooms}&nickname=c{i}"))

        for first in range(0, count, 250):
            await asyncio.gather(*(join(i) for i in range(first, min(first + 250, count))))

        async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for _ in ws:
                pass

        readers = [asyncio.create_task(drain(ws)) for ws in sockets]
        print(f"ready {time.monotonic() - started:.1f}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        print(f"open {sum(not ws.closed for ws in sockets)}", flush=True)
        for reader in readers:
            reader.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
